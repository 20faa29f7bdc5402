"""Bad input refused item by item, nothing lost; the signed bank notification."""

import io
import json
import time

import pytest
from django.test import Client

from qinglang.funds import services
from qinglang.funds.api import sign
from qinglang.funds.models import NotificationRefusal, Order, Payment
from qinglang.funds.testing import funds_world, paid_order, term_input
from qinglang.funds.verify import ledger_verify

pytestmark = pytest.mark.django_db


def _client(user):
    c = Client()
    c.force_login(user)
    return c


def _notify(c, bank, secret, body: dict, *, ts=None, tamper=False):
    raw = json.dumps(body).encode()
    ts = str(ts or int(time.time()))
    sig = sign(secret, ts, raw)
    if tamper:
        raw = raw.replace(b'"amount_fen": ', b'"amount_fen": 1')
    return c.post(
        f"/api/funds/banks/{bank.pk}/notifications",
        raw,
        content_type="application/json",
        HTTP_X_QINGLANG_SIGNATURE=sig,
        HTTP_X_QINGLANG_TIMESTAMP=ts,
    )


def test_signed_notification_idempotent_and_refusals():
    w = funds_world()
    order = services.order_create(
        actor=w.parent,
        data=term_input(w.course, learner_name="乙", lessons=4),
    )
    c = Client()
    body = {"txn_id": "BK001", "order_id": order.pk, "amount_fen": order.amount_fen}
    assert _notify(c, w.bank, "wrong-secret", body).status_code == 401
    assert _notify(c, w.bank, w.secret, body, tamper=True).status_code == 401
    assert _notify(c, w.bank, w.secret, body, ts=int(time.time()) - 3600).status_code == 401  # replayed later
    r = _notify(c, w.bank, w.secret, body)
    assert r.status_code == 201, r.content
    r = _notify(c, w.bank, w.secret, body)
    assert r.status_code == 200 and r.json()["created"] is False
    r = _notify(c, w.bank, w.secret, {**body, "amount_fen": order.amount_fen + 1})
    assert r.status_code == 409 and r.json()["code"] == "notification_altered"
    other = services.order_create(
        actor=w.parent,
        data=term_input(w.course, learner_name="丙", lessons=2),
    )
    r = _notify(c, w.bank, w.secret, {"txn_id": "BK002", "order_id": other.pk, "amount_fen": 1})
    assert r.status_code == 422 and r.json()["code"] == "amount_mismatch"
    r = _notify(c, w.bank, w.secret, {"txn_id": "BK003", "order_id": 99999999, "amount_fen": 1})
    assert r.status_code == 422 and r.json()["code"] == "unknown_order"
    r = _notify(c, w.bank, w.secret, {"txn_id": "BK004", "order_id": other.pk, "amount_fen": -5})
    assert r.status_code == 422
    assert Payment.objects.count() == 1
    assert NotificationRefusal.objects.count() >= 5
    assert ledger_verify().ok


def test_batch_reports_every_event_and_never_half_applies():
    w = funds_world()
    order = paid_order(w, lessons=3)
    lines = [
        {"event_id": "a1", "order_id": order.pk},
        {"event_id": "a1", "order_id": order.pk},  # repeated in the batch: duplicate
        {"event_id": "a2", "order_id": 424242},  # unknown order
        {"event_id": "a3", "order_id": "x"},  # malformed
        {
            "event_id": "a4",
            "order_id": order.pk,
            "amount_fen": -100,
        },  # amounts are not the institution's to set
        {"event_id": "a5", "order_id": order.pk, "amount_fen": 12.5},
        {"event_id": "a6", "order_id": order.pk},
        {"event_id": "a7", "order_id": order.pk},
        {"event_id": "a8", "order_id": order.pk},  # beyond the lessons bought
    ]
    data = "\n".join(json.dumps(x) for x in lines) + "\nnot json\n"
    f = io.BytesIO(data.encode())
    f.name = "events.jsonl"
    r = _client(w.org_user).post(f"/api/funds/institutions/{w.institution.pk}/lessons/batch", {"file": f})
    assert r.status_code == 200, r.content
    out = r.json()
    assert (out["accepted"], out["duplicate"], out["refused"]) == (3, 1, 6)
    reasons = {x["event_id"]: x["code"] for x in out["results"] if x["result"] == "refused"}
    assert (
        reasons["a2"] == "unknown_order"
        and reasons["a3"] == "malformed"
        and reasons["a8"] == "no_lessons_left"
    )
    assert reasons["a4"] == "malformed" and reasons["a5"] == "malformed"
    order.refresh_from_db()
    assert order.lessons_consumed == 3 and order.status == "completed"
    # CSV, replayed: all duplicates, nothing changes
    csv = f"event_id,order_id\na1,{order.pk}\na6,{order.pk}\n"
    f = io.BytesIO(csv.encode())
    f.name = "events.csv"
    out = (
        _client(w.org_user)
        .post(f"/api/funds/institutions/{w.institution.pk}/lessons/batch", {"file": f})
        .json()
    )
    assert out["duplicate"] == 2 and out["accepted"] == 0
    assert ledger_verify().ok


def test_single_lesson_api_and_other_institution_refused():
    w = funds_world()
    w2 = funds_world(admin=w.admin, bank=w.bank)
    order = paid_order(w, lessons=1)
    c = _client(w.org_user)
    r = c.post(
        f"/api/funds/institutions/{w.institution.pk}/lessons",
        {"order_id": order.pk, "event_id": "s1"},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["result"] == "accepted"
    r = c.post(
        f"/api/funds/institutions/{w.institution.pk}/lessons",
        {"order_id": order.pk, "event_id": "s2"},
        content_type="application/json",
    )
    assert r.status_code == 422 and r.json()["code"] in ("order_not_active", "no_lessons_left")
    r = c.post(
        f"/api/funds/institutions/{w2.institution.pk}/lessons",
        {"order_id": order.pk, "event_id": "s3"},
        content_type="application/json",
    )
    assert r.status_code == 404
    assert Order.objects.get(pk=order.pk).lessons_consumed == 1


@pytest.mark.parametrize("starts_on,months", [("9999-12-01", 1), ("0155-04-07", 14487746)])
def test_an_order_whose_charge_period_runs_past_the_calendar_is_refused_not_a_server_error(starts_on, months):
    # with an end date given, the period is checked against the months before any rule
    w = funds_world()
    before = Order.objects.count()
    r = _client(w.parent).post(
        "/api/funds/orders",
        {
            "course_id": w.course.pk,
            "learner_name": "丁",
            "lessons": 2,
            "starts_on": starts_on,
            "months": months,
            "ends_on": "9999-12-31",
        },
        content_type="application/json",
    )
    assert r.status_code == 422, r.content
    body = r.json()
    assert "months" in json.dumps(body["detail"]) and body["message"]
    assert Order.objects.count() == before
