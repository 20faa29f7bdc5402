"""Funds pages: parent end, institution end, regulator console. Scope (out of scope is a
404), ownership (a parent sees their own orders, an institution its own), actions change
state, bad input shows a Chinese reason and changes nothing."""

import io
from datetime import date

import pytest
from django.urls import reverse

from qinglang.accounts.models import Role
from qinglang.core.models import AuditEvent
from qinglang.funds import services
from qinglang.funds.models import (
    CustodyAccount,
    Lesson,
    LessonBatch,
    LessonStatus,
    Order,
    OrderStatus,
    ReconciliationDifference,
    Refund,
    RefundStatus,
)
from qinglang.funds.testing import funds_world, paid_order
from qinglang.registry import services as reg
from qinglang.testing import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(db):
    return funds_world()


def _html(resp) -> str:
    return resp.content.decode()


def _follow(client, url, data) -> str:
    return _html(client.post(url, data, follow=True))


# --- parent end ---------------------------------------------------------------------


def test_parent_sees_only_own_orders(client, w):
    mine = paid_order(w, lessons=10)
    other_parent = make_user(Role.PARENT)
    theirs = paid_order(w, lessons=10, parent=other_parent)
    client.force_login(w.parent)
    html = _html(client.get(reverse("portal:parent_orders")))
    assert reverse("portal:parent_order", args=[mine.pk]) in html
    assert reverse("portal:parent_order", args=[theirs.pk]) not in html
    assert client.get(reverse("portal:parent_order", args=[mine.pk])).status_code == 200
    assert client.get(reverse("portal:parent_order", args=[theirs.pk])).status_code == 404
    resp = client.post(reverse("portal:parent_refund_request", args=[theirs.pk]), {"reason": "不想上了"})
    assert resp.status_code == 404
    assert not Refund.objects.exists()


def test_parent_confirm_and_dispute_lessons(client, w):
    order = paid_order(w, lessons=10)
    l1, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="a1"
    )
    l2, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="a2"
    )
    client.force_login(w.parent)
    html = _html(client.get(reverse("portal:parent_orders")))
    assert "待确认的课时" in html and reverse("portal:parent_lesson_confirm", args=[l1.pk]) in html
    html = _follow(client, reverse("portal:parent_lesson_confirm", args=[l1.pk]), {})
    assert "已确认该课时" in html
    l1.refresh_from_db()
    assert l1.status == LessonStatus.CONFIRMED
    # a dispute without a reason is refused in Chinese, nothing changes
    html = _follow(client, reverse("portal:parent_lesson_dispute", args=[l2.pk]), {"reason": ""})
    assert "请填写异议理由" in html
    l2.refresh_from_db()
    assert l2.status == LessonStatus.RECORDED
    _follow(client, reverse("portal:parent_lesson_dispute", args=[l2.pk]), {"reason": "当天没有上课"})
    l2.refresh_from_db()
    assert l2.status == LessonStatus.DISPUTED
    # another parent cannot touch the lesson
    client.force_login(make_user(Role.PARENT))
    client.post(reverse("portal:parent_lesson_confirm", args=[l2.pk]))
    l2.refresh_from_db()
    assert l2.status == LessonStatus.DISPUTED


def test_parent_refund_request(client, w):
    order = paid_order(w, lessons=10)
    client.force_login(w.parent)
    url = reverse("portal:parent_refund_request", args=[order.pk])
    html = _follow(client, url, {"reason": "  "})
    assert "请填写退费原因" in html
    assert not Refund.objects.exists()
    html = _follow(client, url, {"reason": "孩子转学"})
    assert "退费申请已提交" in html
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUND_REQUESTED
    assert "孩子转学" in _html(client.get(reverse("portal:parent_orders")))


def test_parent_order_create_and_fee_rule_refusal(client, w):
    client.force_login(w.parent)
    url = reverse("portal:parent_order_create") + f"?institution={w.institution.pk}"
    assert w.course.name in _html(client.get(url))
    data = {
        "institution": w.institution.pk,
        "course": w.course.pk,
        "learner_name": "小红",
        "lessons": 10_000,
        "months": 1,
        "starts_on": date.today().isoformat(),
    }
    html = _html(client.post(url, data))
    assert "alert-danger" in html and "课时" in html
    assert not Order.objects.exists()
    data["lessons"] = 10
    resp = client.post(url, data)
    assert resp.status_code == 302
    order = Order.objects.get()
    assert order.parent_id == w.parent.pk and order.status == OrderStatus.PENDING_PAYMENT


def test_parent_pages_need_parent(client, w):
    client.force_login(w.org_user)
    assert client.get(reverse("portal:parent_orders")).status_code == 403
    client.logout()
    assert client.get(reverse("portal:parent_orders")).status_code == 302


# --- institution end ----------------------------------------------------------------


def test_institution_sees_only_own_and_records_lesson(client, w):
    order = paid_order(w, lessons=3)
    other = funds_world(admin=w.admin, bank=w.bank)
    other_order = paid_order(other, lessons=3)
    client.force_login(w.org_user)
    url = reverse("portal:org_funds", args=[w.institution.pk])
    html = _html(client.get(url))
    assert f"<td>{order.pk}</td>" in html and f"<td>{other_order.pk}</td>" not in html
    for name in ("org_funds", "org_batch", "org_refunds"):
        assert client.get(reverse(f"portal:{name}", args=[other.institution.pk])).status_code == 404
    # the form offers only this institution's paid orders: another's is refused, nothing changes
    assert f'value="{other_order.pk}"' not in html and f'value="{order.pk}"' in html
    html = _follow(client, url, {"order_id": other_order.pk, "lesson_no": 1})
    assert "有效" in html  # not one of the choices
    assert not Lesson.objects.exists()
    html = _follow(client, url, {"order_id": order.pk, "lesson_no": 1})
    assert "已记录消课" in html
    html = _follow(client, url, {"order_id": order.pk, "lesson_no": 1})
    assert "未重复消课" in html
    assert Lesson.objects.get().event_id == f"web-{order.pk}-1"  # the API's id, derived
    order.refresh_from_db()
    # the lesson's fee waits for the parent's confirmation
    assert (
        order.lessons_consumed == 1 and order.pending_fen == order.unit_price_fen and order.released_fen == 0
    )
    html = _follow(client, url, {"order_id": order.pk, "lesson_no": 9})
    assert "该订单共 3 节课" in html
    assert Lesson.objects.count() == 1


def test_batch_upload_with_report(client, w):
    order = paid_order(w, lessons=2)
    client.force_login(w.org_user)
    body = (
        f'{{"event_id": "b1", "order_id": {order.pk}}}\n'
        f'{{"event_id": "b2", "order_id": {order.pk}}}\n'
        f'{{"event_id": "b3", "order_id": {order.pk}}}\n'
        "not json\n"
    )
    f = io.BytesIO(body.encode())
    f.name = "lessons.jsonl"
    resp = client.post(reverse("portal:org_batch", args=[w.institution.pk]), {"file": f}, follow=True)
    html = _html(resp)
    assert "接受 2 条" in html and "拒绝 2 条" in html
    assert "已超过所购课时数" in html and "不是合法的 JSON" in html
    batch = LessonBatch.objects.get()
    assert batch.accepted == 2
    assert Lesson.objects.count() == 2
    # another institution's user cannot read the report
    other = funds_world(admin=w.admin, bank=w.bank)
    client.force_login(other.org_user)
    assert (
        client.get(reverse("portal:org_batch_report", args=[w.institution.pk, batch.pk])).status_code == 404
    )
    assert (
        client.get(reverse("portal:org_batch_report", args=[other.institution.pk, batch.pk])).status_code
        == 404
    )


def test_batch_upload_csv(client, w):
    order = paid_order(w, lessons=5)
    client.force_login(w.org_user)
    f = io.BytesIO(f"event_id,order_id\nc1,{order.pk}\nc2,{order.pk}\n".encode())
    f.name = "lessons.csv"
    html = _html(client.post(reverse("portal:org_batch", args=[w.institution.pk]), {"file": f}, follow=True))
    assert "接受 2 条" in html
    order.refresh_from_db()
    assert order.lessons_consumed == 2


def test_institution_answers_refund(client, w):
    order = paid_order(w, lessons=10)
    refund = services.refund_request(actor=w.parent, order_id=order.pk, reason="搬家")
    client.force_login(w.org_user)
    url = reverse("portal:org_refund_answer", args=[w.institution.pk, refund.pk])
    html = _follow(client, url, {"agree": "0", "answer": ""})
    assert "不同意退费须说明理由" in html
    refund.refresh_from_db()
    assert refund.status == RefundStatus.REQUESTED
    _follow(client, url, {"agree": "1"})
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.status != RefundStatus.REQUESTED
    assert order.refunded_fen == order.paid_fen
    # another institution cannot answer
    other = funds_world(admin=w.admin, bank=w.bank)
    client.force_login(other.org_user)
    assert (
        client.post(reverse("portal:org_refund_answer", args=[w.institution.pk, refund.pk])).status_code
        == 404
    )


def test_institution_accepts_dispute(client, w):
    order = paid_order(w, lessons=10)
    lesson, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="d1"
    )
    services.lesson_dispute(actor=w.parent, lesson_id=lesson.pk, reason="没上课")
    client.force_login(w.org_user)
    _follow(client, reverse("portal:org_dispute_accept", args=[w.institution.pk, lesson.pk]), {})
    lesson.refresh_from_db()
    order.refresh_from_db()
    assert lesson.status == LessonStatus.DISPUTE_UPHELD
    assert order.released_fen == 0 and order.lessons_consumed == 0


# --- regulator console --------------------------------------------------------------


def test_console_overview_and_fund_page_in_scope(client, w, officer):
    paid_order(w, lessons=10)
    services.declaration_submit(
        actor=w.org_user, institution_id=w.institution.pk, week_start=date(2026, 3, 2), declared_fen=100_000
    )
    client.force_login(officer)
    html = _html(client.get(reverse("portal:funds_overview") + "?week=2026-03-04"))
    assert "纳管率" in html and w.institution.name in html and "echarts" in html
    html = _html(client.get(reverse("portal:funds_institution", args=[w.institution.pk])))
    assert "监管账户余额" in html and "账务流水" in html
    outsider = make_user(Role.REGULATOR_OFFICER, prefixes=["510104"])
    client.force_login(outsider)
    assert w.institution.name not in _html(client.get(reverse("portal:funds_overview")))
    assert client.get(reverse("portal:funds_institution", args=[w.institution.pk])).status_code == 404
    assert (
        client.post(
            reverse("portal:funds_freeze", args=[w.institution.pk]), {"op": "freeze", "reason": "x"}
        ).status_code
        == 404
    )
    assert not CustodyAccount.objects.get(institution=w.institution).releases_frozen


def test_console_needs_regulator(client, w):
    client.force_login(w.parent)
    assert client.get(reverse("portal:funds_overview")).status_code == 403
    client.force_login(w.org_user)
    assert client.get(reverse("portal:funds_institution", args=[w.institution.pk])).status_code == 403


def test_freeze_and_unfreeze(client, w, officer):
    order = paid_order(w, lessons=10)
    client.force_login(officer)
    url = reverse("portal:funds_freeze", args=[w.institution.pk])
    html = _follow(client, url, {"op": "freeze", "reason": ""})
    assert "操作未完成" in html
    assert not CustodyAccount.objects.get(institution=w.institution).releases_frozen
    _follow(client, url, {"op": "freeze", "reason": "停业整顿"})
    assert CustodyAccount.objects.get(institution=w.institution).releases_frozen
    services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="f1"
    )
    order.refresh_from_db()
    assert order.pending_fen == 0
    _follow(client, url, {"op": "unfreeze", "reason": "整改完成"})
    order.refresh_from_db()
    assert not CustodyAccount.objects.get(institution=w.institution).releases_frozen
    assert order.pending_fen == order.unit_price_fen and order.released_fen == 0


def test_a_malformed_funds_action_says_why_and_changes_nothing(client, w, officer):
    order = paid_order(w, lessons=10)
    lesson, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="m1"
    )
    client.force_login(officer)
    audits = AuditEvent.objects.count()
    freeze = reverse("portal:funds_freeze", args=[w.institution.pk])
    assert "未知操作" in _follow(client, freeze, {"op": "melt", "reason": "停业整顿"})
    assert "理由" in _follow(client, freeze, {"op": "freeze", "reason": "长" * 501})
    assert "理由" in _follow(
        client, reverse("portal:funds_pro_rata", args=[w.institution.pk]), {"reason": "长" * 501}
    )
    decide = reverse("portal:funds_dispute_decide", args=[lesson.pk])
    assert "请选择异议成立或不成立" in _follow(client, decide, {"upheld": "yes", "reason": "查无签到"})
    assert not CustodyAccount.objects.get(institution=w.institution).releases_frozen
    client.force_login(w.parent)
    html = _follow(client, reverse("portal:parent_refund_request", args=[order.pk]), {"reason": "长" * 501})
    assert "理由" in html and not Refund.objects.filter(order=order).exists()
    # an institution id beyond the database's integers is a choice to make again, not an error
    assert client.get(reverse("portal:parent_order_create") + f"?institution={2**63}").status_code == 200
    # (the order page the parent is sent back to issues the order's receipts on first view)
    new = AuditEvent.objects.order_by("id").values_list("action", flat=True)[audits:]
    assert [a for a in new if a != "funds.receipts_issue"] == []


def test_pro_rata_refund_action(client, w, officer):
    order = paid_order(w, lessons=10)
    client.force_login(officer)
    url = reverse("portal:funds_pro_rata", args=[w.institution.pk])
    html = _follow(client, url, {"reason": "统一清退"})
    assert "机构仍在办学" in html
    order.refresh_from_db()
    assert order.refunded_fen == 0
    reg.institution_mark_runaway(actor=w.admin, institution_id=w.institution.pk, reason="卷款跑路")
    assert "执行清退" in _html(client.get(reverse("portal:funds_institution", args=[w.institution.pk])))
    html = _follow(client, url, {"reason": "统一清退"})
    assert "已按比例" in html
    order.refresh_from_db()
    assert order.refunded_fen == order.paid_fen


def test_difference_resolve(client, w, officer):
    d = ReconciliationDifference.objects.create(
        bank_id=w.bank.pk,
        day=date(2026, 3, 2),
        kind="missing",
        txn_id="T-404",
        ledger_amount_fen=5000,
        institution_id=w.institution.pk,
        division_code=w.institution.division_code,
    )
    client.force_login(officer)
    assert "T-404" in _html(client.get(reverse("portal:funds_differences")))
    url = reverse("portal:funds_difference_resolve", args=[d.pk])
    html = _follow(client, url, {"resolution": "", "correction": "1.234"})
    assert "操作未完成" in html
    d.refresh_from_db()
    assert not d.resolved
    _follow(client, url, {"resolution": "银行补记", "correction": "50.00"})
    d.refresh_from_db()
    assert d.resolved and d.correcting_posting_id
    outsider = make_user(Role.REGULATOR_OFFICER, prefixes=["510104"])
    client.force_login(outsider)
    assert "T-404" not in _html(client.get(reverse("portal:funds_differences") + "?resolved=1"))
    assert client.post(url, {"resolution": "x"}).status_code == 404


def test_nav_links_per_role(client, w, officer):
    client.force_login(officer)
    assert reverse("portal:funds_overview") in _html(client.get(reverse("portal:home")))
    client.force_login(w.parent)
    assert reverse("portal:parent_orders") in _html(client.get(reverse("portal:parent_home")))
