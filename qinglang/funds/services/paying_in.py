"""Paying in (缴费): where a parent pays an order — the custody bank, the account's name
and number, the amount and a payment reference (缴费参考号) to write in the transfer's
memo — and the bank operator's entry of a payment that arrived outside the signed
notification (补录到账, for example from a statement line), reconciled like the rest.

The reference is the order's id with two ISO 7064 MOD 97-10 check digits (``QL`` + id +
check), so a mistyped reference is caught before it can name another order."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import is_system
from qinglang.accounts.scope import actor_for
from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError, NotFound
from qinglang.core.money import fen_checked, format_yuan

from ..models import Bank, CustodyAccount, Order, Payment, StatementLine
from .common import is_bank_operator

REFERENCE_PREFIX = "QL"
_REFERENCE = re.compile(r"^QL(\d{3,14})$")
# how far back an operator may date a payment it enters (a statement older than this is
# a matter for reconciliation, not for entry)
ENTRY_MAX_AGE_DAYS = 366


def payment_reference(order_id: int) -> str:
    """``QL`` + the order id + two check digits (MOD 97-10: the whole number ≡ 1 mod 97)."""
    check = 98 - (order_id * 100) % 97
    return f"{REFERENCE_PREFIX}{order_id}{check:02d}"


def order_id_of_reference(reference: str) -> int | None:
    """The order id a reference names, or None if it is malformed or fails its check."""
    raw = re.sub(r"[\s\-]", "", (reference or "").upper())
    m = _REFERENCE.match(raw)
    if m is None or int(m.group(1)) % 97 != 1:
        return None
    return int(m.group(1)[:-2])


@dataclass(frozen=True)
class PayingIn:
    bank_name: str
    account_name: str
    account_number: str
    amount_fen: int
    reference: str

    @property
    def qr_text(self) -> str:
        """What the QR code carries: everything a transfer needs, as plain text."""
        return (
            f"收款银行：{self.bank_name}\n户名：{self.account_name}\n账号：{self.account_number}\n"
            f"金额：{format_yuan(self.amount_fen, symbol=False)}元\n附言(缴费参考号)：{self.reference}"
        )


def paying_in(order: Order) -> PayingIn | None:
    """Where to pay the order (its institution's custody account at the order's bank);
    None if the institution has no custody account any more."""
    acc = (
        CustodyAccount.objects.select_related("bank", "institution")
        .filter(institution_id=order.institution_id)
        .first()
    )
    if acc is None:
        return None
    return PayingIn(
        bank_name=acc.bank.name,
        account_name=acc.account_name or f"{acc.institution.name}预收费监管专户",
        account_number=acc.account_number,
        amount_fen=order.amount_fen - order.paid_fen,
        reference=payment_reference(order.pk),
    )


def _paid_at(paid_on: date) -> datetime:
    if paid_on == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(datetime.combine(paid_on, time(12)))


def _entry_checked(*, note: str, reference: str, paid_on, amount_fen) -> int:
    """The order id of an entry whose input is sound; else every problem at once."""
    errors = {}
    if not note:
        errors["note"] = _("请填写补录依据(如对账单行、银行回单号)")
    elif len(note) > 300:
        errors["note"] = _("补录依据不超过 300 字")
    order_id = order_id_of_reference(reference)
    if order_id is None:
        errors["reference"] = _("缴费参考号无效(格式 QL + 数字，末两位为校验位)")
    if not isinstance(paid_on, date):
        errors["paid_on"] = _("请填写到账日期")
    elif paid_on > timezone.localdate():
        errors["paid_on"] = _("到账日期不能晚于今天")
    elif paid_on < timezone.localdate() - timedelta(days=ENTRY_MAX_AGE_DAYS):
        errors["paid_on"] = format_lazy(
            _("到账日期早于 {ENTRY_MAX_AGE_DAYS} 天前，请走对账差异处理"),
            ENTRY_MAX_AGE_DAYS=ENTRY_MAX_AGE_DAYS,
        )
    try:
        fen_checked(amount_fen, "amount_fen")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return order_id


def payment_enter(
    *,
    actor,
    bank_id: int,
    reference: str,
    txn_id: str,
    amount_fen: int,
    paid_on: date,
    note: str,
    payer_account: str = "",
    payer_account_name: str = "",
    payer_bank: str = "",
) -> tuple[Payment, bool]:
    """A custody bank's operator enters a payment that reached the custody account
    without a signed notification: the order is named by its payment reference, the
    amount must be the order's, and if the day's statement already carries the
    transaction it must agree with it (direction in, same amount, same day). Posted as
    the notification would be (``payment_record``), marked as entered, audited, and the
    day reconciled again so the statement's unmatched line is matched. The same entry
    again returns the original payment (created=False); the same transaction id with
    other content is refused."""
    from .orders import payment_record
    from .recon import reconcile

    note = (note or "").strip()
    order_id = _entry_checked(note=note, reference=reference, paid_on=paid_on, amount_fen=amount_fen)
    with transaction.atomic():
        bank = Bank.objects.filter(pk=bank_id).first()
        if bank is None or not (
            is_bank_operator(actor, bank.pk) or (not is_system(actor) and actor_for(actor).is_platform_admin)
        ):
            raise NotFound(_("托管银行"))
        line = StatementLine.objects.filter(bank=bank, txn_id=(txn_id or "").strip()).first()
        if line is not None and (
            line.direction != "in" or line.amount_fen != amount_fen or line.day != paid_on
        ):
            raise DomainError(
                "statement_mismatch",
                format_lazy(
                    _("对账单中该流水为 {day} {value} {amount_fen}，与补录内容不符"),
                    day=format(line.day, "%Y-%m-%d"),
                    value=_("入账") if line.direction == "in" else _("出账"),
                    amount_fen=format_yuan(line.amount_fen),
                ),
                {"day": line.day.isoformat(), "direction": line.direction, "amount_fen": line.amount_fen},
                status=422,
            )
        payment, created = payment_record(
            actor=actor,
            bank_id=bank.pk,
            txn_id=txn_id,
            order_id=order_id,
            amount_fen=amount_fen,
            payer_account=payer_account,
            payer_account_name=payer_account_name,
            payer_bank=payer_bank,
            paid_at=_paid_at(paid_on),
        )
        if not created:
            return payment, False
        payment.entered_by_id = None if is_system(actor) else actor.pk
        payment.entry_note = note
        payment.save(update_fields=["entered_by_id", "entry_note"])
        audit_record(
            actor=actor,
            action="funds.payment_enter",
            obj=payment,
            changes={
                "order_id": order_id,
                "reference": payment_reference(order_id),
                "txn_id": payment.txn_id,
                "amount_fen": amount_fen,
                "paid_on": paid_on.isoformat(),
                "note": note,
                "on_statement": line is not None,
            },
        )
        if StatementLine.objects.filter(bank=bank, day=paid_on).exists():
            reconcile(bank=bank, day=paid_on)
    return payment, True
