"""The API for risk deposits, disputes, declarations, coverage and bank instruction days:
JSON {code, message, detail} on refusal, scope as on the pages."""

import json

import pytest
from django.test import Client
from django.utils import timezone

from qinglang.accounts.models import Role
from qinglang.accounts.permissions import system
from qinglang.core.services import policy_set
from qinglang.funds import services
from qinglang.funds.models import CustodyAccount, CustodyMode, Lesson, LessonStatus
from qinglang.funds.testing import funds_world, paid_order, term_input
from qinglang.testing import make_user

pytestmark = pytest.mark.django_db


def _client(user):
    c = Client()
    c.force_login(user)
    return c


def _post(c, url, body):
    return c.post(url, json.dumps(body), content_type="application/json")


def test_deposit_api_refuses_orders_until_topped_up():
    w = funds_world(unit_price_fen=1000)
    CustodyAccount.objects.filter(pk=w.custody.pk).update(mode=CustodyMode.RISK_DEPOSIT)
    paid_order(w, lessons=10)
    policy_set(
        actor=system("test"),
        key="custody.risk_deposit_ratio",
        division_code="5101",
        value=0.5,
        basis="市规则",
    )
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=["510107"])
    c = _client(officer)
    url = f"/api/funds/institutions/{w.institution.pk}"
    d = c.get(f"{url}/deposit").json()
    assert (d["required_fen"], d["held_fen"], d["may_take_orders"], d["set_by"]) == (5000, 0, False, "5101")
    order_body = {
        "course_id": w.course.pk,
        "learner_name": "甲",
        "lessons": 1,
        "starts_on": str(timezone.localdate()),
    }
    order_body["ends_on"] = str(term_input(w.course, lessons=1).ends_on)
    r = _post(_client(w.parent), "/api/funds/orders", order_body)
    assert r.status_code == 422 and r.json()["detail"]["rule"] == "custody.risk_deposit_ratio"
    r = _post(c, f"{url}/deposits", {"amount_fen": 0, "key": "a"})
    assert r.status_code == 422
    r = _post(c, f"{url}/deposits", {"amount_fen": 5000, "key": "a", "note": "回单"})
    assert r.status_code == 200 and r.json()["may_take_orders"] is True
    assert _post(_client(w.parent), "/api/funds/orders", order_body).status_code == 201
    outsider = make_user(Role.REGULATOR_OFFICER, prefixes=["510104"])
    assert _client(outsider).get(f"{url}/deposit").status_code == 404
    assert _post(_client(outsider), f"{url}/deposits", {"amount_fen": 1, "key": "b"}).status_code == 404


def test_dispute_and_declaration_api():
    w = funds_world()
    order = paid_order(w, lessons=3)
    lesson, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="api-d"
    )
    services.lesson_dispute(actor=w.parent, lesson_id=lesson.pk, reason="停课")
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=["510107"])
    c = _client(officer)
    rows = c.get("/api/funds/disputes").json()
    assert rows[0]["lesson_id"] == lesson.pk and rows[0]["reason"] == "停课"
    r = _post(c, f"/api/funds/disputes/{lesson.pk}/decide", {"upheld": True, "reason": " "})
    assert r.status_code == 422 and r.json()["code"]
    r = _post(
        _client(w.org_user), f"/api/funds/disputes/{lesson.pk}/decide", {"upheld": False, "reason": "x"}
    )
    assert r.status_code in (403, 404)
    r = _post(c, f"/api/funds/disputes/{lesson.pk}/decide", {"upheld": True, "reason": "无签到"})
    assert r.status_code == 200 and r.json()["status"] == LessonStatus.DISPUTE_UPHELD
    assert Lesson.objects.get(pk=lesson.pk).status == LessonStatus.DISPUTE_UPHELD

    today = timezone.localdate()
    url = f"/api/funds/institutions/{w.institution.pk}/declarations"
    r = _post(_client(w.org_user), url, {"week_start": str(today), "declared_fen": -1})
    assert r.status_code == 422
    r = _post(_client(w.org_user), url, {"week_start": str(today), "declared_fen": order.amount_fen * 2})
    assert r.status_code == 201 and r.json()["declared_fen"] == order.amount_fen * 2
    assert _post(c, url, {"week_start": str(today), "declared_fen": 1}).status_code == 403
    cov = c.get("/api/funds/coverage", {"week": str(today)}).json()
    held = order.amount_fen  # the disputed lesson's release was reversed
    assert cov["by_township"][0]["held_fen"] == held and cov["by_township"][0]["rate"] == 0.5
    assert cov["declarations"] == 1 and cov["missing"] == 0


def test_bank_api_lists_own_bank_and_instruction_days():
    w = funds_world()
    other = funds_world()
    order = paid_order(w, lessons=2)
    lesson, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="b1"
    )
    services.lesson_confirm(actor=w.parent, lesson_id=lesson.pk)
    services.instructions_generate(day=timezone.localdate())
    op = _client(make_user(Role.BANK_OPERATOR, bank_id=w.bank.pk))
    assert [b["id"] for b in op.get("/api/funds/banks").json()] == [w.bank.pk]
    days = op.get(f"/api/funds/banks/{w.bank.pk}/instruction-days").json()["days"]
    assert days[0]["release_fen"] == order.unit_price_fen
    assert op.get(f"/api/funds/banks/{other.bank.pk}/instruction-days").status_code == 404
