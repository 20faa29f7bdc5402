"""Reads for parents and the public: receipts, where to pay, and what the disclosure
board says of an institution's custody. Narrowed by ``restrict`` like every funds read."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import restrict
from qinglang.core.errors import NotFound

from .models import ContractAcceptance, CustodyAccount, CustodyMode, Receipt


def receipt_list(*, actor, order_id: int | None = None) -> QuerySet[Receipt]:
    qs = restrict(Receipt.objects.select_related("order", "order__course", "institution"), actor)
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    return qs.order_by("occurred_at", "id")


def receipt_get(*, actor, receipt_id: int) -> Receipt:
    r = receipt_list(actor=actor).filter(pk=receipt_id).first()
    if r is None:
        raise NotFound(_("凭证"))
    return r


def contract_acceptance(*, actor, order_id: int) -> ContractAcceptance | None:
    return restrict(ContractAcceptance.objects.all(), actor).filter(order_id=order_id).first()


def mask_account(number: str) -> str:
    """A custody account number as the public board shows it: the first 4 and the last
    4 digits."""
    n = (number or "").replace(" ", "")
    if len(n) <= 8:
        return n[:2] + "*" * max(len(n) - 2, 0)
    return f"{n[:4]} **** **** {n[-4:]}"


@dataclass(frozen=True)
class PublicCustody:
    bank_name: str
    masked_account: str
    mode_label: str
    risk_deposit: bool


def public_custody(*, institution_id: int) -> PublicCustody | None:
    """The custody line of the public disclosure board; None: the institution's fees are
    not under custody."""
    acc = CustodyAccount.objects.select_related("bank").filter(institution_id=institution_id).first()
    if acc is None:
        return None
    return PublicCustody(
        bank_name=acc.bank.name,
        masked_account=mask_account(acc.account_number),
        mode_label=acc.get_mode_display(),
        risk_deposit=acc.mode == CustodyMode.RISK_DEPOSIT,
    )


def entered_payments(*, actor, bank_id: int) -> QuerySet:
    """Payments of a bank entered by its operator (not from a signed notification),
    newest first."""
    from .models import Payment
    from .selectors import bank_get

    bank = bank_get(actor=actor, bank_id=bank_id)
    return (
        restrict(Payment.objects.select_related("order", "institution"), actor)
        .filter(bank_id=bank.pk, entered_by_id__isnull=False)
        .order_by("-id")
    )


def parent_summary(*, actor) -> dict[str, int]:
    """What waits for a parent: their orders (and those still to pay), lessons to
    confirm or dispute, refund requests still open, receipts kept."""
    from django.db.models import Count, Q

    from .models import Lesson, LessonStatus, Order, OrderStatus, Refund, RefundStatus

    mine = Q(parent_id=actor.pk)
    orders = restrict(Order.objects.filter(mine), actor).aggregate(
        n=Count("id"), unpaid=Count("id", filter=Q(status=OrderStatus.PENDING_PAYMENT))
    )
    return {
        "orders": orders["n"],
        "unpaid": orders["unpaid"],
        "to_confirm": restrict(
            Lesson.objects.filter(order__parent_id=actor.pk, status=LessonStatus.RECORDED), actor
        ).count(),
        "refunds_open": restrict(
            Refund.objects.filter(order__parent_id=actor.pk, status=RefundStatus.REQUESTED), actor
        ).count(),
        "receipts": restrict(Receipt.objects.filter(order__parent_id=actor.pk), actor).count(),
    }
