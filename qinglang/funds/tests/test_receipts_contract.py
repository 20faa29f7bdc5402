"""What parents keep: receipts for payments, confirmations and refunds (page, PDF,
public verification by an unguessable code) and the order's contract (.docx filled with
the order's particulars, acceptance recorded with its time). Also the parent pages' bad
input: another's lesson, confirming twice, disputing too late, an unknown code."""

import io
from datetime import date, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from qinglang.accounts.models import Role
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.models import AuditEvent
from qinglang.funds import services
from qinglang.funds.models import (
    ContractAcceptance,
    Lesson,
    LessonStatus,
    Payment,
    Receipt,
    ReceiptKind,
    Refund,
)
from qinglang.funds.services.receipts import ALPHABET, CODE_LENGTH, display_code, normalise_code
from qinglang.funds.testing import funds_world, paid_order
from qinglang.testing import make_user

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _record(w, order, ev):
    lesson, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id=ev
    )
    return lesson


def _world_with_movements():
    w = funds_world()
    order = paid_order(w, lessons=6)
    a, b = _record(w, order, "r1"), _record(w, order, "r2")
    services.lesson_confirm(actor=w.parent, lesson_id=a.pk)
    return w, order, a, b


def test_payment_and_confirmation_receipts_name_posting_and_audit_hash():
    _w, order, a, _b = _world_with_movements()
    receipts = services.receipts_issue(order=order)
    kinds = {(r.kind, r.object_id) for r in receipts}
    payment = Payment.objects.get(order=order)
    assert kinds == {(ReceiptKind.PAYMENT, payment.pk), (ReceiptKind.CONFIRMATION, a.pk)}  # b is pending
    pr = next(r for r in receipts if r.kind == ReceiptKind.PAYMENT)
    cr = next(r for r in receipts if r.kind == ReceiptKind.CONFIRMATION)
    a.refresh_from_db()
    assert pr.posting_id == payment.posting_id and pr.amount_fen == order.amount_fen
    assert cr.posting_id == a.settled_posting_id and cr.amount_fen == order.unit_price_fen
    ev = AuditEvent.objects.get(action="funds.lesson_confirm", object_id=str(a.pk))
    assert (cr.audit_seq, cr.audit_hash) == (ev.seq, ev.hash)
    ev = AuditEvent.objects.get(action="funds.payment_record", object_id=str(payment.pk))
    assert (pr.audit_seq, pr.audit_hash) == (ev.seq, ev.hash)
    # issuing again issues nothing new
    n = AuditEvent.objects.filter(action="funds.receipts_issue").count()
    assert {r.pk for r in services.receipts_issue(order=order)} == {pr.pk, cr.pk}
    assert AuditEvent.objects.filter(action="funds.receipts_issue").count() == n


def test_deemed_and_rejected_lessons_and_refunds_get_receipts():
    w = funds_world()
    order = paid_order(w, lessons=6)
    d = _record(w, order, "d1")
    rejected = _record(w, order, "d2")
    services.lesson_dispute(actor=w.parent, lesson_id=rejected.pk, reason="没上课")
    services.dispute_decide(actor=w.admin, lesson_id=rejected.pk, upheld=False, reason="签到记录在")
    services.lessons_deem_confirmed(today=timezone.localdate() + timedelta(days=60))
    d.refresh_from_db()
    assert d.status == LessonStatus.DEEMED_CONFIRMED
    refund = services.refund_request(actor=w.parent, order_id=order.pk, reason="搬家")
    services.refund_answer(actor=w.org_user, refund_id=refund.pk, agree=True)
    refund.refresh_from_db()
    receipts = {(r.kind, r.object_id): r for r in services.receipts_issue(order=order)}
    assert (ReceiptKind.CONFIRMATION, d.pk) in receipts
    assert (ReceiptKind.CONFIRMATION, rejected.pk) in receipts
    rr = receipts[(ReceiptKind.REFUND, refund.pk)]
    assert rr.amount_fen == refund.amount_fen > 0 and rr.posting_id == refund.posting_id
    deemed_ev = AuditEvent.objects.get(seq=receipts[(ReceiptKind.CONFIRMATION, d.pk)].audit_seq)
    assert deemed_ev.action == "funds.lessons_deem_confirmed"


def test_periodic_job_issues_what_is_missing():
    _w, order, _a, _b = _world_with_movements()
    assert services.receipts_issue_due() == 1
    assert Receipt.objects.filter(order=order).count() == 2
    assert services.receipts_issue_due() == 0


def test_codes_are_random_80_bit_and_forgiving_when_typed():
    _w, order, *_ = _world_with_movements()
    codes = [r.code for r in services.receipts_issue(order=order)]
    assert all(len(c) == CODE_LENGTH and set(c) <= set(ALPHABET) for c in codes)
    assert len(ALPHABET) ** CODE_LENGTH >= 2**80

    def value(c):
        return sum(ALPHABET.index(ch) * 32**i for i, ch in enumerate(reversed(c)))

    assert abs(value(codes[0]) - value(codes[1])) > 10**6  # not sequential
    typed = display_code(codes[0]).lower().replace("0", "o").replace("1", "l")
    assert normalise_code(typed) == codes[0]
    assert normalise_code("ABC") is None and normalise_code("U" * 16) is None


def test_receipt_page_pdf_and_public_verification():
    w, order, a, _b = _world_with_movements()
    c = _client(w.parent)
    c.get(reverse("portal:parent_order", args=[order.pk]))  # the page issues the receipts
    cr = Receipt.objects.get(kind=ReceiptKind.CONFIRMATION, object_id=a.pk)
    html = c.get(reverse("portal:parent_receipt", args=[cr.pk])).content.decode()
    assert str(cr.posting_id) in html and cr.audit_hash in html and display_code(cr.code) in html
    assert reverse("portal:receipt_verify", args=[cr.code]) in html
    pdf = c.get(reverse("portal:parent_receipt_pdf", args=[cr.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and b"STSong-Light" in pdf.content
    # anyone verifies, and sees amount, date, institution and state, nothing personal
    public = Client().get(reverse("portal:receipt_verify", args=[display_code(cr.code)]))
    page = public.content.decode()
    assert public.status_code == 200 and "凭证真实有效" in page
    assert w.institution.name in page and "¥50.00" in page and "已确认" in page
    for personal in (
        order.learner_name,
        w.parent.username,
        w.parent.display_name or "\x00",
        order.course.name,
    ):
        assert personal not in page
    api = Client().get(f"/api/public/receipts/{cr.code}")
    assert api.status_code == 200 and api.json()["chain_ok"] is True
    assert order.learner_name not in api.content.decode()


def test_unknown_or_malformed_code_is_a_bare_404():
    w, order, *_ = _world_with_movements()
    services.receipts_issue(order=order)
    for code in ("ZZZZZZZZZZZZZZZZ", "not-a-code", "1234"):
        r = Client().get(reverse("portal:receipt_verify", args=[code]))
        assert r.status_code == 404
        body = r.content.decode()
        # the page's own content is the plain 404 (the shell around it carries the menu,
        # whose 凭证核验 entry every visitor has, and the language switch's return address)
        main = body.split("<main", 1)[1].split("</main>", 1)[0]
        assert 'data-error="404"' in main
        assert code not in main and "凭证" not in main and w.institution.name not in body
        assert Client().get(f"/api/public/receipts/{code}").status_code == 404


def test_another_parents_receipt_is_404():
    _w, order, *_ = _world_with_movements()
    r = services.receipts_issue(order=order)[0]
    c = _client(make_user(Role.PARENT))
    assert c.get(reverse("portal:parent_receipt", args=[r.pk])).status_code == 404
    assert c.get(reverse("portal:parent_receipt_pdf", args=[r.pk])).status_code == 404


def test_tampered_audit_event_shows_on_verification():
    _w, order, _a, _b = _world_with_movements()
    r = next(x for x in services.receipts_issue(order=order) if x.kind == ReceiptKind.CONFIRMATION)
    AuditEvent.objects.filter(seq=r.audit_seq).update(hash="0" * 64)
    assert services.receipt_verify(r.code, client="127.0.0.1").chain_ok is False


# --- the contract ------------------------------------------------------------------------


def _docx_text(data: bytes) -> str:
    from docx import Document

    doc = Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        for row in t.rows:
            parts += [c.text for c in row.cells]
    return "\n".join(parts)


def test_contract_docx_carries_the_orders_particulars_and_the_model_structure():
    w = funds_world()
    order = paid_order(w, lessons=12)
    resp = _client(w.parent).get(reverse("portal:parent_contract", args=[order.pk]))
    assert resp.status_code == 200 and resp["Content-Type"].startswith("application/vnd.openxmlformats")
    text = _docx_text(resp.content)
    for particular in (
        w.institution.name,
        order.course.name,
        order.learner_name,
        "12 课时",
        "¥600.00",
        "¥50.00",
        order.starts_on.isoformat(),
        w.bank.name,
        w.custody.account_number,
        services.payment_reference(order.pk),
    ):
        assert particular in text, particular
    for heading in ("合同双方", "培训服务内容", "培训收费", "预收费资金监管", "退费", "争议处理", "签署"):
        assert heading in text, heading
    assert "15 个工作日" in text and "5 个工作日" in text  # the periods in force
    assert "甲方(签字)" in text  # not yet accepted


def test_acceptance_is_recorded_once_with_its_time():
    w = funds_world()
    order = paid_order(w, lessons=4)
    c = _client(w.parent)
    before = timezone.now()
    r = c.post(reverse("portal:parent_contract_accept", args=[order.pk]))
    assert r.status_code == 302
    acc = ContractAcceptance.objects.get(order=order)
    assert acc.accepted_by_id == w.parent.pk and before <= acc.accepted_at <= timezone.now()
    ev = AuditEvent.objects.get(action="funds.contract_accept", object_id=str(order.pk))
    assert ev.changes["contract_sha256"] == acc.contract_sha256
    again, created = services.contract_accept(actor=w.parent, order_id=order.pk)
    assert not created and again.pk == acc.pk and again.accepted_at == acc.accepted_at
    text = _docx_text(c.get(reverse("portal:parent_contract", args=[order.pk])).content)
    assert "确认同意本合同" in text and acc.contract_sha256 in text
    assert "已于" in c.get(reverse("portal:parent_order", args=[order.pk])).content.decode()


def test_only_the_orders_parent_accepts():
    w = funds_world()
    order = paid_order(w, lessons=4)
    with pytest.raises(NotFound):
        services.contract_accept(actor=make_user(Role.PARENT), order_id=order.pk)
    with pytest.raises((PermissionDeniedError, NotFound)):
        services.contract_accept(actor=w.org_user, order_id=order.pk)
    assert (
        _client(make_user(Role.PARENT))
        .post(reverse("portal:parent_contract_accept", args=[order.pk]))
        .status_code
        == 404
    )
    assert (
        _client(make_user(Role.PARENT)).get(reverse("portal:parent_contract", args=[order.pk])).status_code
        == 404
    )
    assert not ContractAcceptance.objects.exists()


def paid_order_pending(w):
    from qinglang.funds.testing import term_input

    return services.order_create(actor=w.parent, data=term_input(w.course, lessons=2))


def test_a_cancelled_order_is_not_signed():
    w = funds_world()
    order = paid_order_pending(w)
    services.order_cancel(actor=w.parent, order_id=order.pk)
    with pytest.raises(DomainError) as exc:
        services.contract_accept(actor=w.parent, order_id=order.pk)
    assert exc.value.code == "order_closed"
    assert not ContractAcceptance.objects.exists()


# --- bad input on the parent pages ---------------------------------------------------------


def test_confirming_someone_elses_lesson_on_the_page_is_404():
    w = funds_world()
    order = paid_order(w, lessons=4)
    lesson = _record(w, order, "x1")
    r = _client(make_user(Role.PARENT)).post(reverse("portal:parent_lesson_confirm", args=[lesson.pk]))
    assert r.status_code == 404
    lesson.refresh_from_db()
    assert lesson.status == LessonStatus.RECORDED


def test_confirming_twice_on_the_page_keeps_the_original():
    w = funds_world()
    order = paid_order(w, lessons=4)
    lesson = _record(w, order, "x2")
    c = _client(w.parent)
    url = reverse("portal:parent_lesson_confirm", args=[lesson.pk])
    c.post(url)
    lesson.refresh_from_db()
    first = (lesson.status, lesson.settled_posting_id)
    r = c.post(url, follow=True)
    assert r.status_code == 200 and "已确认该课时" in r.content.decode()
    lesson.refresh_from_db()
    assert (lesson.status, lesson.settled_posting_id) == first
    order.refresh_from_db()
    assert order.released_fen == order.unit_price_fen


def test_disputing_after_the_period_on_the_page_is_a_clear_error():
    w = funds_world()
    order = paid_order(w, lessons=4)
    when = timezone.make_aware(datetime.combine(order.starts_on, datetime.min.time())) + timedelta(hours=10)
    services.lesson_batch_import(
        actor=w.org_user,
        institution_id=w.institution.pk,
        rows=[{"event_id": "late", "order_id": order.pk, "given_at": when}],
        now=when,
    )
    lesson = Lesson.objects.get(event_id="late")
    Lesson.objects.filter(pk=lesson.pk).update(confirm_by=date.today() - timedelta(days=1))
    r = _client(w.parent).post(
        reverse("portal:parent_lesson_dispute", args=[lesson.pk]), {"reason": "没上课"}, follow=True
    )
    assert "已过家长确认期限" in r.content.decode()
    lesson.refresh_from_db()
    assert lesson.status == LessonStatus.RECORDED
    assert not Refund.objects.exists()


def test_parent_home_describes_what_works_with_the_parents_figures():
    w = funds_world()
    order = paid_order(w, lessons=4)
    _record(w, order, "h1")
    _record(w, order, "h2")
    paid_order_pending(w)
    html = _client(w.parent).get(reverse("portal:parent_home")).content.decode()
    assert "尚未接入" not in html
    for link in (
        "parent_orders",
        "parent_order_create",
        "clue_report",
        "parent_clues",
        "receipt_verify_form",
    ):
        assert reverse(f"portal:{link}") in html
    section = html.split('id="parent-home"', 1)[1]
    assert "1 个订单待缴费" in section
    assert 'text-bg-warning">2<' in section  # two lessons wait for confirmation
    # another parent sees their own (empty) figures
    other = _client(make_user(Role.PARENT)).get(reverse("portal:parent_home")).content.decode()
    assert "个订单待缴费" not in other
    assert 'text-bg-secondary">0<' in other
