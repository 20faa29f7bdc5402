"""Orders (订单) and their states, and the payments into custody that pay them (with
the bank notifications refused)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import ScopePaths
from qinglang.core.models import TransitionRow
from qinglang.core.states import StateMachine
from qinglang.registry.models import Course, Institution

from .accounts import Bank


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("待缴费")
    PAID = "paid", _("履约中")
    REFUND_REQUESTED = "refund_requested", _("退费申请中")
    COMPLETED = "completed", _("已完课")
    REFUNDED = "refunded", _("已退课")  # closed by a refund; the money's state is the Refund's
    CANCELLED = "cancelled", _("已取消")


ORDER_TRANSITIONS: dict[str, set[str]] = {
    OrderStatus.PENDING_PAYMENT: {OrderStatus.PAID, OrderStatus.CANCELLED},
    OrderStatus.PAID: {OrderStatus.REFUND_REQUESTED, OrderStatus.COMPLETED, OrderStatus.REFUNDED},
    OrderStatus.REFUND_REQUESTED: {OrderStatus.PAID, OrderStatus.REFUNDED, OrderStatus.COMPLETED},
    OrderStatus.COMPLETED: {OrderStatus.PAID},  # a dispute upheld gives a lesson back
    OrderStatus.REFUNDED: set(),
    OrderStatus.CANCELLED: set(),
}


class Order(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """An order (订单): a course package bought for a learner, checked against every fee
    rule in force for the institution's division, sold under the standard contract.
    Counters are kept in step with the ledger: paid = held + pending + released +
    refunded, where pending is what lessons recorded but not yet confirmed have moved out
    of the order's prepaid account (still in custody, still the parent's money) and
    released is what has been posted to the institution's settlement."""

    scope = ScopePaths(
        division="division_code", institution="institution_id", bank="bank_id", owner="parent_id"
    )

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="orders")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="orders")
    parent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    external_ref = models.CharField(_("机构系统订单号"), max_length=64, blank=True)
    learner_name = models.CharField(_("学员"), max_length=64)
    lessons = models.PositiveIntegerField(_("课时数"))
    unit_price_fen = models.BigIntegerField(_("课时单价(分)"))
    amount_fen = models.BigIntegerField(_("金额(分)"))
    months = models.PositiveIntegerField(_("收费时长(月)"), default=1)
    starts_on = models.DateField(_("开课日期"))
    ends_on = models.DateField(_("收费期截止"), null=True, blank=True)  # None: starts_on + months
    top_up_of = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True)
    release_rule = models.CharField(max_length=16, default="per_lesson")
    contract_text = models.TextField(_("合同文本"))
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT)
    bank_id = models.BigIntegerField(null=True, blank=True)
    division_code = models.CharField(max_length=12)
    paid_fen = models.BigIntegerField(default=0)
    pending_fen = models.BigIntegerField(default=0)
    released_fen = models.BigIntegerField(default=0)
    refunded_fen = models.BigIntegerField(default=0)
    lessons_consumed = models.PositiveIntegerField(default=0)
    lessons_refunded = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("订单")
        verbose_name_plural = _("订单")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_fen__gt=0, unit_price_fen__gt=0), name="order_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(lessons_consumed__lte=models.F("lessons")), name="order_lessons_bound"
            ),
            models.CheckConstraint(
                condition=Q(released_fen__gte=0, refunded_fen__gte=0, pending_fen__gte=0)
                & Q(
                    paid_fen__gte=models.F("released_fen")
                    + models.F("refunded_fen")
                    + models.F("pending_fen")
                ),
                name="order_never_more_out_than_paid",
            ),
        ]
        indexes = [
            models.Index(fields=["division_code", "id"], name="order_div_idx"),
            models.Index(fields=["institution", "status"], name="order_inst_status_idx"),
        ]

    @property
    def held_fen(self) -> int:
        return self.paid_fen - self.pending_fen - self.released_fen - self.refunded_fen

    @property
    def lessons_remaining(self) -> int:
        return self.lessons - self.lessons_consumed - self.lessons_refunded


class OrderTransition(TransitionRow):
    """Insert-only history of an order's status (待缴费 → 履约中 → …), one row per change
    and a first row (from = to) when it is created."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=20, choices=OrderStatus.choices)
    to_status = models.CharField(max_length=20, choices=OrderStatus.choices)

    class Meta(TransitionRow.Meta):
        ordering = ["id"]


ORDER_STATES = StateMachine(
    "funds.order", OrderStatus, ORDER_TRANSITIONS, model=Order, history=OrderTransition, action="funds.order"
)


class Payment(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """A payment into custody, from a bank notification (idempotent on the bank's
    transaction id)."""

    scope = ScopePaths(
        division="division_code", institution="institution_id", bank="bank_id", owner="order__parent_id"
    )

    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="payments")
    txn_id = models.CharField(max_length=64)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="payments")
    amount_fen = models.BigIntegerField()
    payer_account = models.CharField(_("付款账号"), max_length=64, blank=True)
    payer_account_name = models.CharField(_("付款户名"), max_length=100, blank=True)
    payer_bank = models.CharField(_("付款开户行"), max_length=100, blank=True)
    payload_hash = models.CharField(max_length=64)
    posting_id = models.BigIntegerField()
    division_code = models.CharField(max_length=12)
    paid_at = models.DateTimeField()
    # a payment the bank's operator entered (from a statement line, say) rather than the
    # bank's signed notification: who entered it, and from what
    entered_by_id = models.BigIntegerField(null=True, blank=True)
    entry_note = models.CharField(_("补录依据"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("缴费")
        verbose_name_plural = _("缴费")
        constraints = [models.UniqueConstraint(fields=["bank", "txn_id"], name="payment_txn_unique")]


class NotificationRefusal(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """A bank notification refused (bad signature, replay with altered content, unknown
    order, amount mismatch): kept for the regulator to see."""

    bank_id = models.BigIntegerField(null=True)
    txn_id = models.CharField(max_length=64, blank=True)
    code = models.CharField(max_length=40)
    reason = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
