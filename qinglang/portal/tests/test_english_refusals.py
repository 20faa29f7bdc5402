"""Refusals in the reader's language: under the English locale the services' refusals
reach the API (and Open311) in English — a parent's order over a fee rule, an order that
is not there, a public report without content, a whistle outside one's area — while the
Chinese locale still reads them in Chinese and what is stored keeps the Chinese."""

import json
import re

import pytest
from django.test import Client
from django.utils import translation
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.models import Role
from qinglang.accounts.services import api_token_create
from qinglang.core.errors import DomainError, NotFound
from qinglang.funds.services.orders import latest_end_in_semester
from qinglang.funds.testing import funds_world
from qinglang.testing import TOWNSHIP, admin_user, make_institution, make_user

pytestmark = pytest.mark.django_db
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture
def county(db):
    from qinglang.accounts.permissions import system
    from qinglang.core.services import department_ensure_for_division

    for code in ("510107", TOWNSHIP):
        department_ensure_for_division(actor=system("test"), division_code=code)


def _client(user=None, language="en") -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    c.cookies["django_language"] = language
    return c


def _order_over_the_limit(c, w):
    from django.utils import timezone

    today = timezone.localdate()
    body = {
        "course_id": w.course.pk,
        "learner_name": "小红",
        "lessons": 61,  # the national default allows 60 per charge
        "starts_on": str(today),
        "ends_on": str(latest_end_in_semester(div=w.institution.division_code, starts_on=today, months=1)),
    }
    return c.post("/api/funds/orders", json.dumps(body), content_type="application/json")


def test_a_parents_fee_refusal_reads_in_english():
    w = funds_world(unit_price_fen=100)
    r = _order_over_the_limit(_client(w.parent), w)
    assert r.status_code == 422, r.content
    body = r.json()
    assert body["code"] == "policy_violation" and body["detail"]["rule"] == "fees.max_lessons_per_charge"
    message = body["message"]
    assert message.startswith("A charge of 61 lessons exceeds the limit"), message
    assert "Maximum lessons per charge 60" in message and message.endswith(
        "[rule fees.max_lessons_per_charge]"
    )
    # the basis cites the document by its own (Chinese) title; nothing else is Chinese
    assert not CJK.search(message.replace(body["detail"]["basis"], "")), message
    zh = _order_over_the_limit(_client(w.parent, "zh-hans"), w).json()["message"]
    assert zh.startswith("单次收费课时数 61 超过上限") and "[参数 fees.max_lessons_per_charge]" in zh


def test_an_order_not_there_reads_in_english():
    w = funds_world()
    r = _client(w.parent).post("/api/funds/orders/99999999/refund", "{}", content_type="application/json")
    assert r.status_code in (404, 422), r.content
    if r.status_code == 404:
        assert r.json()["message"] == "Order does not exist or is not visible to you"
    assert not CJK.search(r.json()["message"]), r.json()


def test_a_public_report_refusal_reads_in_english(county):
    key = api_token_create(actor=admin_user(), user=make_user("parent"), name="civic app")[1]
    data = {"api_key": key, "service_code": "price", "division_code": TOWNSHIP, "description": ""}
    r = _client().post("/api/clues/open311/v2/requests.json", data)
    assert r.status_code == 400
    text = r.json()[0]["description"]
    assert "content" in text and not CJK.search(text), text
    zh = _client(language="zh-hans").post("/api/clues/open311/v2/requests.json", data).json()[0]
    assert "请填写举报内容" in zh["description"]


def test_a_whistle_refusal_reads_in_english(county):
    grid = make_user(Role.GRID_WORKER, prefixes=[TOWNSHIP])
    body = {
        "division_code": "510107002",
        "title": "无证培训点",
        "problem": "请消防到场",
        "department_kinds": ["fire"],
    }
    r = _client(grid).post("/api/clues/whistles", json.dumps(body), content_type="application/json")
    assert r.status_code == 403, r.content
    assert r.json()["message"] == "You may blow the whistle only in your own area"


def test_a_lazy_message_is_stored_in_chinese():
    exc = DomainError("x", format_lazy(_("单次收费课时数 {lessons} 超过上限"), lessons=61), {"lessons": 61})
    with translation.override("en"):
        assert (
            exc.message == str(exc) == exc.as_dict()["message"] == "A charge of 61 lessons exceeds the limit"
        )
        assert exc.chinese_message == "单次收费课时数 61 超过上限"
        assert NotFound(_("订单")).chinese_message == "订单不存在或无权查看"
    assert exc.message == "单次收费课时数 61 超过上限"


def test_a_text_check_refusal_reads_in_english(county):
    officer = make_user(Role.REGULATOR_OFFICER)
    body = json.dumps({"texts": ["周末美术课", "   "]})
    r = _client(officer).post("/api/risk/texts/classify", body, content_type="application/json")
    assert r.status_code == 422, r.content
    assert r.json()["code"] == "empty_text" and r.json()["message"] == "Text 2 is empty"
    zh = _client(officer, "zh-hans").post("/api/risk/texts/classify", body, content_type="application/json")
    assert zh.json()["message"] == "第2条文本为空"


def test_an_indicator_refusal_reads_in_english(county):
    officer = make_user(Role.REGULATOR_OFFICER)
    r = _client(officer).get("/api/analytics/values", {"period": "year"})
    assert r.status_code in (400, 422), r.content
    text = json.dumps(r.json(), ensure_ascii=False)
    assert "The period must be day, week or month" in text and not CJK.search(text), text
    zh = _client(officer, "zh-hans").get("/api/analytics/values", {"period": "year"})
    assert "周期应为日、周或月" in json.dumps(zh.json(), ensure_ascii=False)


def test_a_status_named_in_a_refusal_reads_in_the_readers_language():
    """The institution's status inside a refusal is its label in the reader's language
    (not the Chinese pasted into an English sentence); the stored copy stays Chinese."""
    from qinglang.registry import services as registry

    admin = admin_user()
    inst = make_institution(admin)
    registry.institution_suspend(actor=admin, institution_id=inst.pk, reason="消防整改")
    c = _client(admin)
    r = c.post(
        f"/api/registry/institutions/{inst.pk}/whitelist",
        json.dumps({"reason": "核查通过"}),
        content_type="application/json",
    )
    assert r.status_code == 409, r.content
    message = r.json()["message"]
    assert message == "An institution whose status is Suspended for rectification cannot be whitelisted"
    zh = _client(admin, "zh-hans").post(
        f"/api/registry/institutions/{inst.pk}/whitelist",
        json.dumps({"reason": "核查通过"}),
        content_type="application/json",
    )
    assert zh.json()["message"] == "办学状态为停业整顿的机构不能列入白名单"
    with pytest.raises(DomainError) as e, translation.override("en"):
        registry.whitelist_add(actor=admin, institution_id=inst.pk, reason="核查通过")
    assert e.value.chinese_message == "办学状态为停业整顿的机构不能列入白名单"
