"""Refunds (退费) of an order's unconsumed prepaid fees and their states, from the
request (or a regulator's pro-rata refund) to the bank's confirmation."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import ScopePaths
from qinglang.core.models import TransitionRow
from qinglang.core.states import StateMachine
from qinglang.registry.models import Institution

from .orders import Order


class RefundStatus(models.TextChoices):
    """Where a refund stands, as the parent is told: agreed (the amount is owed back to
    the payer's account, still in custody), in a bank instruction, and refunded only
    when the bank's statement confirms the instruction line was paid."""

    REQUESTED = "requested", _("待机构答复")
    AGREED = "agreed", _("已同意")
    DEEMED_AGREED = "deemed_agreed", _("逾期视为同意")
    REJECTED = "rejected", _("机构不同意")
    REGULATOR = "regulator", _("监管清退(已同意)")
    INSTRUCTED = "instructed", _("已下达指令")
    REFUNDED = "refunded", _("已退款")


# agreed in one of three ways; then instructed (a refund line of a bank instruction),
# then refunded (the bank's statement carries the line). A refund of nothing stays agreed.
REFUND_AGREED = {RefundStatus.AGREED, RefundStatus.DEEMED_AGREED, RefundStatus.REGULATOR}
REFUND_TRANSITIONS: dict[str, set[str]] = {
    RefundStatus.REQUESTED: {RefundStatus.AGREED, RefundStatus.DEEMED_AGREED, RefundStatus.REJECTED},
    RefundStatus.AGREED: {RefundStatus.INSTRUCTED},
    RefundStatus.DEEMED_AGREED: {RefundStatus.INSTRUCTED},
    RefundStatus.REGULATOR: {RefundStatus.INSTRUCTED},
    RefundStatus.INSTRUCTED: {RefundStatus.REFUNDED},
    RefundStatus.REJECTED: set(),
    RefundStatus.REFUNDED: set(),
}


class Refund(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """A refund (退费) of an order's unconsumed prepaid fees, paid back from custody to
    the original payment account (``refund.destination``)."""

    scope = ScopePaths(
        division="division_code", institution="institution_id", bank="bank_id", owner="order__parent_id"
    )

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="refunds")
    status = models.CharField(max_length=16, choices=RefundStatus.choices, default=RefundStatus.REQUESTED)
    reason = models.CharField(_("退费原因"), max_length=500)
    answer = models.CharField(_("机构答复"), max_length=500, blank=True)
    amount_fen = models.BigIntegerField(_("退费金额(分)"), default=0)
    respond_by = models.DateField(_("答复截止"), null=True, blank=True)
    posting_id = models.BigIntegerField(null=True, blank=True)
    destination = models.CharField(max_length=40, default="original_payment_account")
    # the payer's account the refund goes back to (from the payment notification)
    payer_account = models.CharField(_("退款账户"), max_length=64, blank=True)
    payer_account_name = models.CharField(_("退款户名"), max_length=100, blank=True)
    payer_bank = models.CharField(_("退款开户行"), max_length=100, blank=True)
    payment_txn_id = models.CharField(_("原缴费流水号"), max_length=64, blank=True)
    bank_id = models.BigIntegerField(null=True, blank=True)
    division_code = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("退费")
        verbose_name_plural = _("退费")
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=Q(status="requested"), name="refund_one_open_per_order"
            ),
            models.CheckConstraint(condition=Q(amount_fen__gte=0), name="refund_amount_not_negative"),
        ]
        indexes = [models.Index(fields=["status", "respond_by"], name="refund_status_due_idx")]


class RefundTransition(TransitionRow):
    """Insert-only history of a refund's status, from its request (or a regulator's
    pro-rata refund) to the bank's confirmation."""

    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=RefundStatus.choices)
    to_status = models.CharField(max_length=16, choices=RefundStatus.choices)

    class Meta(TransitionRow.Meta):
        ordering = ["id"]


REFUND_STATES = StateMachine(
    "funds.refund",
    RefundStatus,
    REFUND_TRANSITIONS,
    model=Refund,
    history=RefundTransition,
    action="funds.refund",
)
