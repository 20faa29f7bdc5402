"""Paying in (缴费): the parent's order page says where to pay (custody bank, account name
and number, amount, payment reference, and a QR code carrying them); a bank operator
enters a payment that arrived without a signed notification, reconciled like the rest."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from qinglang.accounts.models import Role
from qinglang.core.errors import DomainError, NotFound
from qinglang.core.models import AuditEvent
from qinglang.funds import services
from qinglang.funds.models import (
    DifferenceKind,
    Order,
    OrderStatus,
    Payment,
    ReconciliationDifference,
)
from qinglang.funds.services.paying_in import order_id_of_reference, payment_reference
from qinglang.funds.testing import funds_world, term_input
from qinglang.funds.verify import ledger_verify
from qinglang.portal.qr import qr_svg
from qinglang.testing import make_user

pytestmark = pytest.mark.django_db


def _order(w, lessons=10) -> Order:
    return services.order_create(actor=w.parent, data=term_input(w.course, lessons=lessons))


def _operator(w):
    return make_user(Role.BANK_OPERATOR, bank_id=w.bank.pk)


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_reference_has_check_digits_that_catch_typos():
    for oid in (1, 7, 42, 12345, 9876543210):
        ref = payment_reference(oid)
        assert ref.startswith("QL") and order_id_of_reference(ref) == oid
        assert order_id_of_reference(ref.lower().replace("ql", "ql-")) == oid
    ref = payment_reference(12345)
    # one digit changed, two swapped: both caught by the check digits
    changed = ref[:4] + str((int(ref[4]) + 1) % 10) + ref[5:]
    swapped = ref[:3] + ref[4] + ref[3] + ref[5:]
    assert order_id_of_reference(changed) is None and order_id_of_reference(swapped) is None
    assert order_id_of_reference("QL") is None and order_id_of_reference("12345") is None


def test_order_page_shows_where_to_pay_with_qr():
    w = funds_world()
    order = _order(w)
    html = _client(w.parent).get(reverse("portal:parent_order", args=[order.pk])).content.decode()
    pay = services.paying_in(order)
    assert pay.bank_name == w.bank.name and pay.account_number == w.custody.account_number
    assert pay.amount_fen == order.amount_fen and pay.reference == payment_reference(order.pk)
    for text in (w.bank.name, w.custody.account_number, pay.reference, pay.account_name):
        assert text in html
    assert f"{order.amount_fen // 100:,}.{order.amount_fen % 100:02d}" in html
    # the QR code carries the same particulars
    for text in (w.bank.name, w.custody.account_number, pay.reference, pay.account_name):
        assert text in pay.qr_text
    assert str(qr_svg(pay.qr_text, title="缴费信息")) in html
    assert "<script" not in html.split('id="paying-in"', 1)[1].split("</div></div>", 1)[0]


def test_paid_order_page_no_longer_asks_for_payment():
    w = funds_world()
    order = _order(w)
    services.payment_record(
        actor=w.admin, bank_id=w.bank.pk, txn_id="T1", order_id=order.pk, amount_fen=order.amount_fen
    )
    html = _client(w.parent).get(reverse("portal:parent_order", args=[order.pk])).content.decode()
    assert 'id="paying-in"' not in html


def test_account_name_when_set_is_shown():
    w = funds_world()
    w.custody.account_name = "某某培训学校预收费监管专户"
    w.custody.save(update_fields=["account_name"])
    assert services.paying_in(_order(w)).account_name == "某某培训学校预收费监管专户"


def _enter(w, actor, order, **kw):
    args = {
        "bank_id": w.bank.pk,
        "reference": payment_reference(order.pk),
        "txn_id": "STMT-001",
        "amount_fen": order.amount_fen,
        "paid_on": timezone.localdate(),
        "note": "对账单第 3 行",
        "payer_account": "6217000011112222",
        "payer_account_name": "张女士",
        "payer_bank": "中国建设银行",
    }
    args.update(kw)
    return services.payment_enter(actor=actor, **args)


def test_operator_enters_a_statement_line_and_the_day_reconciles():
    w = funds_world()
    order = _order(w)
    op = _operator(w)
    day = timezone.localdate()
    services.statement_import(
        actor=op,
        bank_id=w.bank.pk,
        day=day,
        text=f"txn_id,direction,amount_fen\nSTMT-001,in,{order.amount_fen}\n",
    )
    (extra,) = ReconciliationDifference.objects.filter(bank_id=w.bank.pk, day=day)
    assert extra.kind == DifferenceKind.EXTRA  # money arrived that the ledger does not know
    payment, created = _enter(w, op, order)
    assert created and payment.entered_by_id == op.pk and payment.entry_note == "对账单第 3 行"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.paid_fen == order.amount_fen
    assert not ReconciliationDifference.objects.filter(bank_id=w.bank.pk, day=day, resolved=False).exists()
    ev = AuditEvent.objects.get(action="funds.payment_enter", object_id=str(payment.pk))
    assert ev.actor_id == op.pk and ev.changes["on_statement"] is True
    assert payment.payer_account == "6217000011112222"  # refunds go back to it
    assert ledger_verify().ok
    # the same entry again: the original payment, nothing posted twice
    again, created = _enter(w, op, order)
    assert not created and again.pk == payment.pk and Payment.objects.filter(order=order).count() == 1


def test_entry_without_statement_is_reconciled_when_the_statement_comes():
    w = funds_world()
    order = _order(w)
    op = _operator(w)
    day = timezone.localdate() - timedelta(days=1)
    _enter(w, op, order, paid_on=day, txn_id="SLIP-9")
    services.statement_import(actor=op, bank_id=w.bank.pk, day=day, text="txn_id,direction,amount_fen\n")
    (missing,) = ReconciliationDifference.objects.filter(bank_id=w.bank.pk, day=day)
    assert missing.kind == DifferenceKind.MISSING and missing.txn_id == "SLIP-9"
    services.statement_import(
        actor=op,
        bank_id=w.bank.pk,
        day=day,
        text=f"txn_id,direction,amount_fen\nSLIP-9,in,{order.amount_fen}\n",
    )
    assert not ReconciliationDifference.objects.filter(bank_id=w.bank.pk, day=day).exists()


def _nothing_written(order):
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT and order.paid_fen == 0
    assert not Payment.objects.filter(order=order).exists()
    assert not AuditEvent.objects.filter(action="funds.payment_enter").exists()


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"reference": "QL99999"}, "reference"),
        ({"note": "  "}, "note"),
        ({"note": "长" * 301}, "note"),
        ({"amount_fen": 0}, "amount_fen"),
        ({"amount_fen": 10**11}, "amount_fen"),
        ({"amount_fen": "100"}, "amount_fen"),
        ({"paid_on": "2026-01-01"}, "paid_on"),
    ],
)
def test_bad_entries_are_refused_in_chinese_and_change_nothing(kw, field):
    w = funds_world()
    order = _order(w)
    with pytest.raises(ValidationError) as exc:
        _enter(w, _operator(w), order, **kw)
    assert field in exc.value.message_dict
    assert all("\u4e00" <= ch <= "\u9fff" for m in exc.value.message_dict[field] for ch in m[:1])
    _nothing_written(order)


def test_future_or_ancient_day_refused():
    w = funds_world()
    order = _order(w)
    for day in (timezone.localdate() + timedelta(days=1), timezone.localdate() - timedelta(days=400)):
        with pytest.raises(ValidationError) as exc:
            _enter(w, _operator(w), order, paid_on=day)
        assert "paid_on" in exc.value.message_dict
    _nothing_written(order)


def test_amount_other_than_the_order_and_statement_disagreement_refused():
    w = funds_world()
    order = _order(w)
    op = _operator(w)
    with pytest.raises(DomainError) as exc:
        _enter(w, op, order, amount_fen=order.amount_fen - 1)
    assert exc.value.code == "amount_mismatch"
    services.statement_import(
        actor=op,
        bank_id=w.bank.pk,
        day=timezone.localdate(),
        text="txn_id,direction,amount_fen\nSTMT-001,in,1\n",
    )
    with pytest.raises(DomainError) as exc:
        _enter(w, op, order)
    assert exc.value.code == "statement_mismatch" and "与补录内容不符" in exc.value.message
    _nothing_written(order)


def test_only_the_banks_operator_enters():
    w = funds_world()
    order = _order(w)
    other_bank, _ = services.bank_create(actor=w.admin, code="OTHER1", name="他行", division_code="510107")
    for actor in (w.parent, w.org_user, make_user(Role.REGULATOR_OFFICER, prefixes=["510107"])):
        with pytest.raises(NotFound):
            _enter(w, actor, order)
    with pytest.raises(NotFound):
        _enter(w, make_user(Role.BANK_OPERATOR, bank_id=other_bank.pk), order)
    _nothing_written(order)


def test_api_entry_and_json_errors():
    w = funds_world()
    order = _order(w)
    c = _client(_operator(w))
    url = f"/api/funds/banks/{w.bank.pk}/payments"
    body = {
        "reference": payment_reference(order.pk),
        "txn_id": "API-1",
        "amount_fen": order.amount_fen,
        "paid_on": timezone.localdate().isoformat(),
        "note": "回单 0001",
    }
    bad = c.post(url, json.dumps({**body, "reference": "QL123"}), content_type="application/json")
    assert bad.status_code == 422
    err = bad.json()
    assert set(err) >= {"code", "message", "detail"} and "缴费参考号" in err["message"]
    r = c.post(url, json.dumps(body), content_type="application/json")
    assert r.status_code == 201 and r.json()["order_id"] == order.pk
    assert c.post(url, json.dumps(body), content_type="application/json").status_code == 200
    p = c.get(f"/api/funds/orders/{order.pk}/paying-in")
    assert p.status_code == 200 and p.json()["reference"] == payment_reference(order.pk)


def test_bank_payments_page_enters_and_shows_errors():
    w = funds_world()
    order = _order(w)
    c = _client(_operator(w))
    url = reverse("portal:bank_payments", args=[w.bank.pk])
    form = {
        "reference": payment_reference(order.pk),
        "txn_id": "PAGE-1",
        "amount": f"{order.amount_fen / 100:.2f}",
        "paid_on": timezone.localdate().isoformat(),
        "note": "对账单第 1 行",
    }
    r = c.post(url, {**form, "reference": "QL1"})
    assert r.status_code == 200 and "缴费参考号无效" in r.content.decode()
    _nothing_written(order)
    r = c.post(url, form)
    assert r.status_code == 302
    html = c.get(url).content.decode()
    assert "PAGE-1" in html and "对账单第 1 行" in html
