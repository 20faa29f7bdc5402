"""Prepaid fee custody (预收费资金监管): custody banks and accounts, orders, the
double-entry ledger, lesson consumption (消课), refunds, bank notifications, release and
refund instructions, reconciliation (对账), declarations and signals.

Money is integer fen. Ledger sign convention: an entry's ``amount_fen`` is positive for a
debit and negative for a credit; every posting's entries sum to zero. Asset accounts
(custody) are debit-normal, liabilities (prepaid, settlement, refunds payable, risk
deposit) credit-normal; ``LedgerAccount.balance_fen`` is the signed sum of its entries and
``normal_balance`` shows it the natural way round."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from qinglang.accounts.scope import ScopePaths
from qinglang.core.models import TransitionRow
from qinglang.core.states import StateMachine
from qinglang.registry.models import Course, Institution


class Bank(models.Model):
    """A custody bank (托管银行) registered for a division; notifications it sends are
    signed with HMAC-SHA256 under its shared secret (stored encrypted)."""

    scope = ScopePaths(division="division_code", bank="id")

    code = models.CharField("银行编码", max_length=32, unique=True)
    name = models.CharField("银行名称", max_length=100)
    division_code = models.CharField("所属区划", max_length=12)
    secret_encrypted = models.TextField("通知签名密钥(加密)", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "托管银行"
        verbose_name_plural = "托管银行"
        indexes = [models.Index(fields=["division_code", "id"], name="bank_div_idx")]

    def __str__(self) -> str:
        return self.name


class CustodyMode(models.TextChoices):
    BANK_CUSTODY = "bank_custody", "银行托管"
    RISK_DEPOSIT = "risk_deposit", "风险保证金"


class CustodyAccount(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """An institution's custody account (托管专户 / 监管账户) at a bank. Without one an
    institution takes no orders. ``releases_frozen`` is set by a penalty decision that
    stops operation: lessons then release nothing until unfrozen (refunds still work)."""

    scope = ScopePaths(division="division_code", institution="institution_id", bank="bank_id")

    institution = models.OneToOneField(Institution, on_delete=models.PROTECT, related_name="custody_account")
    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="accounts")
    mode = models.CharField("监管方式", max_length=16, choices=CustodyMode.choices)
    account_number = models.CharField("账号", max_length=40)
    # the name the account is held under, as the bank shows it (blank: the institution's)
    account_name = models.CharField("户名", max_length=100, blank=True)
    opened_on = models.DateField("开户日期")
    # risk-deposit mode: a fixed minimum set at opening; the deposit actually required
    # also follows ``custody.risk_deposit_ratio`` (services.deposits.deposit_requirement)
    required_deposit_fen = models.BigIntegerField("应缴保证金(分)", default=0)
    deposit_held_fen = models.BigIntegerField("已缴保证金(分)", default=0)
    releases_frozen = models.BooleanField("暂停拨付", default=False)
    frozen_reason = models.CharField("暂停原因", max_length=500, blank=True)
    division_code = models.CharField("所属区划", max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "监管账户"
        verbose_name_plural = "监管账户"
        constraints = [
            models.UniqueConstraint(fields=["bank", "account_number"], name="custody_account_number_unique"),
            models.CheckConstraint(
                condition=Q(required_deposit_fen__gte=0, deposit_held_fen__gte=0),
                name="custody_deposit_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["division_code", "id"], name="custody_div_idx")]


class AccountKind(models.TextChoices):
    CUSTODY = "custody", "监管户(资产)"
    PREPAID = "prepaid", "订单预收(负债)"
    PENDING_RELEASE = "pending_release", "待家长确认拨付(负债)"
    SETTLEMENT = "settlement", "机构待结算(负债)"
    REFUNDS_PAYABLE = "refunds_payable", "应退费(负债)"
    RISK_DEPOSIT = "risk_deposit", "风险保证金(负债)"
    SUSPENSE = "suspense", "对账挂账"


DEBIT_NORMAL = {AccountKind.CUSTODY}
# Balance rules as flags (TigerBeetle): which side may never exceed the other.
NON_NEGATIVE_DEBIT = {AccountKind.CUSTODY}  # credits must not exceed debits
# debits must not exceed credits. Settlement has no such rule: a dispute upheld after the
# release was paid out leaves the institution owing, netted against its next releases.
NON_NEGATIVE_CREDIT = {
    AccountKind.PREPAID,
    AccountKind.PENDING_RELEASE,
    AccountKind.REFUNDS_PAYABLE,
    AccountKind.RISK_DEPOSIT,
}


class LedgerAccount(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """One account of the double-entry ledger. ``balance_fen`` is kept alongside the
    entries (signed: debits − credits) and ``ledger_verify`` proves it equals their sum."""

    scope = ScopePaths(division="division_code", institution="institution_id", bank="bank_id")

    kind = models.CharField(max_length=16, choices=AccountKind.choices)
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="ledger_accounts")
    order = models.OneToOneField(
        "Order", on_delete=models.PROTECT, null=True, blank=True, related_name="prepaid_account"
    )
    bank_id = models.BigIntegerField(null=True, blank=True)
    division_code = models.CharField(max_length=12)
    balance_fen = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "账户"
        verbose_name_plural = "账户"
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "kind"],
                condition=~Q(kind="prepaid"),
                name="ledger_one_account_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind="prepaid", order__isnull=False)
                | (~Q(kind="prepaid") & Q(order__isnull=True)),
                name="ledger_prepaid_has_order",
            ),
            models.CheckConstraint(
                condition=~Q(kind="custody") | Q(balance_fen__gte=0), name="ledger_custody_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["prepaid", "pending_release", "refunds_payable", "risk_deposit"])
                | Q(balance_fen__lte=0),
                name="ledger_liability_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["division_code", "kind"], name="ledger_div_kind_idx")]

    @property
    def normal_balance(self) -> int:
        return self.balance_fen if self.kind in DEBIT_NORMAL else -self.balance_fen


class PostingCode(models.TextChoices):
    """Why money moved (TigerBeetle's transfer code)."""

    PAYMENT = "payment", "缴费入托管"
    RELEASE = "release", "消课拨付"  # straight to settlement: before two-phase release, and catch-ups
    RELEASE_REVERSAL = "release_reversal", "消课异议冲正"
    # two-phase release (一课一消): a lesson's price waits in pending until the parent
    # confirms (or is deemed to), then is posted to settlement, or voided back to prepaid
    RELEASE_PENDING = "release_pending", "消课待确认"
    RELEASE_POST = "release_post", "确认拨付"
    RELEASE_VOID = "release_void", "异议成立退回"
    REFUND = "refund", "退费"
    PRO_RATA_REFUND = "pro_rata_refund", "按比例清退"
    SETTLEMENT_PAYOUT = "settlement_payout", "拨付划转"
    REFUND_PAYOUT = "refund_payout", "退费划转"
    DEPOSIT = "deposit", "缴存保证金"
    CORRECTION = "correction", "对账更正"


class Posting(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """A set of entries summing to zero, immutable. ``idempotency_key`` is chosen by the
    client: a retry with the same payload returns this posting, the same key with a
    different payload is refused. Corrections are new postings naming ``reverses``."""

    scope = ScopePaths(division="division_code", institution="institution_id", bank="bank_id")

    idempotency_key = models.CharField(max_length=120, unique=True)
    payload_hash = models.CharField(max_length=64)
    code = models.CharField(max_length=24, choices=PostingCode.choices)
    # no database FK check or index of its own: a posting's institution is its accounts'
    # (whose FKs are checked), and ``posting_inst_idx`` leads with it. The batch path
    # inserts tens of thousands of postings at once, each FK check a trigger at commit.
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="postings", db_constraint=False, db_index=False
    )
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    bank_id = models.BigIntegerField(null=True, blank=True)
    division_code = models.CharField(max_length=12)
    amount_fen = models.BigIntegerField("金额(分)")  # the sum of the debits
    reverses = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True)
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "记账凭证"
        verbose_name_plural = "记账凭证"
        constraints = [models.CheckConstraint(condition=Q(amount_fen__gt=0), name="posting_amount_positive")]
        indexes = [models.Index(fields=["institution", "id"], name="posting_inst_idx")]


class Entry(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """One leg of a posting; insert-only."""

    scope = ScopePaths(
        division="account__division_code", institution="account__institution_id", bank="account__bank_id"
    )

    posting = models.ForeignKey(Posting, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    amount_fen = models.BigIntegerField()

    class Meta:
        verbose_name = "分录"
        verbose_name_plural = "分录"
        constraints = [models.CheckConstraint(condition=~Q(amount_fen=0), name="entry_amount_nonzero")]


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "待缴费"
    PAID = "paid", "履约中"
    REFUND_REQUESTED = "refund_requested", "退费申请中"
    COMPLETED = "completed", "已完课"
    REFUNDED = "refunded", "已退课"  # closed by a refund; the money's state is the Refund's
    CANCELLED = "cancelled", "已取消"


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
    external_ref = models.CharField("机构系统订单号", max_length=64, blank=True)
    learner_name = models.CharField("学员", max_length=64)
    lessons = models.PositiveIntegerField("课时数")
    unit_price_fen = models.BigIntegerField("课时单价(分)")
    amount_fen = models.BigIntegerField("金额(分)")
    months = models.PositiveIntegerField("收费时长(月)", default=1)
    starts_on = models.DateField("开课日期")
    ends_on = models.DateField("收费期截止", null=True, blank=True)  # None: starts_on + months
    top_up_of = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True)
    release_rule = models.CharField(max_length=16, default="per_lesson")
    contract_text = models.TextField("合同文本")
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
        verbose_name = "订单"
        verbose_name_plural = "订单"
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


class LessonStatus(models.TextChoices):
    RECORDED = "recorded", "待家长确认"
    CONFIRMED = "confirmed", "已确认(已拨付)"
    DEEMED_CONFIRMED = "deemed_confirmed", "逾期视为确认(已拨付)"
    DISPUTED = "disputed", "家长异议(待监管决定)"
    DISPUTE_UPHELD = "dispute_upheld", "异议成立(已退回)"
    DISPUTE_REJECTED = "dispute_rejected", "异议不成立(已拨付)"


# where a lesson's release stands: pending until one of these, posted or voided once
LESSON_PENDING = {LessonStatus.RECORDED, LessonStatus.DISPUTED}
LESSON_POSTED = {LessonStatus.CONFIRMED, LessonStatus.DEEMED_CONFIRMED, LessonStatus.DISPUTE_REJECTED}
LESSON_VOIDED = {LessonStatus.DISPUTE_UPHELD}


LESSON_TRANSITIONS: dict[str, set[str]] = {
    LessonStatus.RECORDED: {LessonStatus.CONFIRMED, LessonStatus.DEEMED_CONFIRMED, LessonStatus.DISPUTED},
    LessonStatus.DISPUTED: {LessonStatus.DISPUTE_UPHELD, LessonStatus.DISPUTE_REJECTED},
    LessonStatus.CONFIRMED: set(),
    LessonStatus.DEEMED_CONFIRMED: set(),
    LessonStatus.DISPUTE_UPHELD: set(),
    LessonStatus.DISPUTE_REJECTED: set(),
}


class Lesson(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """A lesson consumed (消课) against an order; ``event_id`` is the institution
    system's id, unique per institution, so a repeated event is a no-op. ``released_fen``
    is the lesson's pending release (``posting_id``, prepaid → pending); the posting that
    posts it to settlement or voids it back is ``settled_posting_id`` (at most one: its
    idempotency key is ``settle:{lesson id}``, and it ``reverses`` the pending posting)."""

    scope = ScopePaths(
        division="division_code", institution="institution_id", bank="bank_id", owner="order__parent_id"
    )

    # the institution is the order's (checked through ``order``); the unique
    # (institution, event_id) and ``lesson_order_idx`` serve as their indexes
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="lessons", db_constraint=False, db_index=False
    )
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="lesson_events", db_index=False)
    event_id = models.CharField(max_length=64)
    given_at = models.DateTimeField("上课时间")
    status = models.CharField(max_length=20, choices=LessonStatus.choices, default=LessonStatus.RECORDED)
    confirm_by = models.DateField("确认截止")
    released_fen = models.BigIntegerField(default=0)
    posting_id = models.BigIntegerField(null=True, blank=True)
    settled_posting_id = models.BigIntegerField(null=True, blank=True)
    batch_id = models.BigIntegerField(null=True, blank=True)
    bank_id = models.BigIntegerField(null=True, blank=True)
    division_code = models.CharField(max_length=12)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "消课记录"
        verbose_name_plural = "消课记录"
        constraints = [
            models.UniqueConstraint(fields=["institution", "event_id"], name="lesson_event_unique")
        ]
        indexes = [
            models.Index(fields=["status", "confirm_by"], name="lesson_status_due_idx"),
            models.Index(fields=["order", "id"], name="lesson_order_idx"),
        ]

    @property
    def release_state(self) -> str:
        """Where the lesson's fee stands: pending (in custody, awaiting the parent),
        posted (to the institution), voided (back to the order), none (moved nothing)."""
        if not self.released_fen:
            return "none"
        if self.status in LESSON_PENDING:
            return "pending"
        return "voided" if self.status in LESSON_VOIDED else "posted"


class LessonTransition(TransitionRow):
    """Insert-only history of a lesson's status: a first row when recorded (待家长确认),
    then its confirmation, deemed confirmation, dispute and decision. The batch and
    deemed-confirm paths write theirs set-based (``record_many``: COPY on PostgreSQL)."""

    lesson = models.ForeignKey(Lesson, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=20, choices=LessonStatus.choices)
    to_status = models.CharField(max_length=20, choices=LessonStatus.choices)

    class Meta(TransitionRow.Meta):
        ordering = ["id"]


LESSON_STATES = StateMachine(
    "funds.lesson",
    LessonStatus,
    LESSON_TRANSITIONS,
    model=Lesson,
    history=LessonTransition,
    action="funds.lesson",
)


class LessonBatch(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """One batch upload of lesson events and its per-event report."""

    scope = ScopePaths(division="division_code", institution="institution_id")

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="lesson_batches")
    division_code = models.CharField(max_length=12)
    filename = models.CharField(max_length=200, blank=True)
    accepted = models.PositiveIntegerField(default=0)
    duplicate = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=list)  # refused and duplicate rows with reasons (first 1,000)
    created_by_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "消课批次"
        verbose_name_plural = "消课批次"


class RefundStatus(models.TextChoices):
    """Where a refund stands, as the parent is told: agreed (the amount is owed back to
    the payer's account, still in custody), in a bank instruction, and refunded only
    when the bank's statement confirms the instruction line was paid."""

    REQUESTED = "requested", "待机构答复"
    AGREED = "agreed", "已同意"
    DEEMED_AGREED = "deemed_agreed", "逾期视为同意"
    REJECTED = "rejected", "机构不同意"
    REGULATOR = "regulator", "监管清退(已同意)"
    INSTRUCTED = "instructed", "已下达指令"
    REFUNDED = "refunded", "已退款"


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
    reason = models.CharField("退费原因", max_length=500)
    answer = models.CharField("机构答复", max_length=500, blank=True)
    amount_fen = models.BigIntegerField("退费金额(分)", default=0)
    respond_by = models.DateField("答复截止", null=True, blank=True)
    posting_id = models.BigIntegerField(null=True, blank=True)
    destination = models.CharField(max_length=40, default="original_payment_account")
    # the payer's account the refund goes back to (from the payment notification)
    payer_account = models.CharField("退款账户", max_length=64, blank=True)
    payer_account_name = models.CharField("退款户名", max_length=100, blank=True)
    payer_bank = models.CharField("退款开户行", max_length=100, blank=True)
    payment_txn_id = models.CharField("原缴费流水号", max_length=64, blank=True)
    bank_id = models.BigIntegerField(null=True, blank=True)
    division_code = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "退费"
        verbose_name_plural = "退费"
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
    payer_account = models.CharField("付款账号", max_length=64, blank=True)
    payer_account_name = models.CharField("付款户名", max_length=100, blank=True)
    payer_bank = models.CharField("付款开户行", max_length=100, blank=True)
    payload_hash = models.CharField(max_length=64)
    posting_id = models.BigIntegerField()
    division_code = models.CharField(max_length=12)
    paid_at = models.DateTimeField()
    # a payment the bank's operator entered (from a statement line, say) rather than the
    # bank's signed notification: who entered it, and from what
    entered_by_id = models.BigIntegerField(null=True, blank=True)
    entry_note = models.CharField("补录依据", max_length=300, blank=True)

    class Meta:
        verbose_name = "缴费"
        verbose_name_plural = "缴费"
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


class InstructionKind(models.TextChoices):
    RELEASE = "release", "拨付指令"
    REFUND = "refund", "退费指令"


class InstructionLine(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """One line of a bank's daily release or refund instruction: money out of custody.
    ``ref`` is the transaction reference the bank statement must carry. A release line
    pays an institution's settlement; a refund line pays one refund back to the payer's
    own account (``refund.destination``): account, name, bank and the original payment's
    transaction id."""

    scope = ScopePaths(division="division_code", institution="institution_id", bank="bank_id")

    bank_id = models.BigIntegerField()
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="instruction_lines")
    day = models.DateField()
    kind = models.CharField(max_length=8, choices=InstructionKind.choices)
    ref = models.CharField(max_length=64, unique=True)
    amount_fen = models.BigIntegerField()
    destination = models.CharField(max_length=64, blank=True)
    destination_name = models.CharField(max_length=100, blank=True)
    destination_bank = models.CharField(max_length=100, blank=True)
    original_txn_id = models.CharField(max_length=64, blank=True)
    refund = models.OneToOneField(
        "Refund", on_delete=models.PROTECT, null=True, blank=True, related_name="instruction"
    )
    posting_id = models.BigIntegerField()
    # why a release line pays less than the settlement balance (the rule it cites)
    note = models.CharField("说明", max_length=300, blank=True)
    division_code = models.CharField(max_length=12)

    class Meta:
        verbose_name = "划转指令"
        verbose_name_plural = "划转指令"
        indexes = [models.Index(fields=["bank_id", "day"], name="instr_bank_day_idx")]


class StatementLine(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """One line of a bank's daily statement (imported CSV or .xlsx)."""

    scope = ScopePaths(bank="bank_id")

    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="statement_lines")
    day = models.DateField()
    txn_id = models.CharField(max_length=64)
    direction = models.CharField(max_length=3)  # in / out
    amount_fen = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bank", "txn_id"], name="statement_txn_unique")]


class DifferenceKind(models.TextChoices):
    MISSING = "missing", "银行流水缺失"
    EXTRA = "extra", "银行多出流水"
    AMOUNT_MISMATCH = "amount_mismatch", "金额不符"


class ReconciliationDifference(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """A difference between the ledger and a bank statement, for a regulator to resolve
    (with a correcting posting where money is concerned)."""

    scope = ScopePaths(division="division_code", bank="bank_id")

    bank_id = models.BigIntegerField()
    day = models.DateField()
    kind = models.CharField(max_length=16, choices=DifferenceKind.choices)
    txn_id = models.CharField(max_length=64)
    ledger_amount_fen = models.BigIntegerField(null=True)
    bank_amount_fen = models.BigIntegerField(null=True)
    institution_id = models.BigIntegerField(null=True)
    division_code = models.CharField(max_length=12)
    resolved = models.BooleanField(default=False)
    resolution = models.CharField(max_length=500, blank=True)
    correcting_posting_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "对账差异"
        verbose_name_plural = "对账差异"
        constraints = [
            models.UniqueConstraint(fields=["bank_id", "txn_id", "kind"], name="recon_diff_unique"),
        ]


class PrepaidDeclaration(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """An institution's periodic declaration of the prepaid fees it holds (申报)."""

    scope = ScopePaths(division="division_code", institution="institution_id")

    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="prepaid_declarations"
    )
    week_start = models.DateField("申报周(周一)")
    declared_fen = models.BigIntegerField("申报预收费(分)")
    division_code = models.CharField(max_length=12)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["institution", "week_start"], name="declaration_one_per_week"),
            models.CheckConstraint(condition=Q(declared_fen__gte=0), name="declaration_not_negative"),
        ]


class SignalKind(models.TextChoices):
    OBLIGATION_SHORTFALL = "obligation_shortfall", "监管余额低于未消课预收费"
    LARGE_MOVEMENT = "large_movement", "大额资金变动"


class Signal(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """A funds signal kept for the risk module."""

    scope = ScopePaths(division="division_code", institution="institution_id")

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="fund_signals")
    kind = models.CharField(max_length=24, choices=SignalKind.choices)
    value = models.FloatField()  # a ratio, not money
    detail = models.JSONField(default=dict)
    division_code = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["division_code", "kind", "created_at"], name="signal_div_kind_idx")]


# --- what parents keep: receipts and the accepted contract ------------------------------


class ReceiptKind(models.TextChoices):
    PAYMENT = "payment", "缴费凭证"
    CONFIRMATION = "confirmation", "消课拨付凭证"
    REFUND = "refund", "退费凭证"


class Receipt(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """A receipt (凭证) for one payment, one lesson's posted release or one refund. It
    names the ledger posting and the audit event (its chain hash) that recorded the
    movement; ``code`` is the verification code, random (80 bits), checked by anyone at
    ``/verify/<code>`` (amount, date, institution and state; nothing personal). One per
    movement: (kind, object_id) is unique."""

    scope = ScopePaths(
        division="division_code", institution="institution_id", bank="bank_id", owner="order__parent_id"
    )

    code = models.CharField("核验码", max_length=16, unique=True)
    kind = models.CharField(max_length=16, choices=ReceiptKind.choices)
    object_id = models.BigIntegerField()  # the payment, lesson or refund
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="receipts")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="receipts")
    amount_fen = models.BigIntegerField("金额(分)")
    occurred_at = models.DateTimeField("发生时间")
    posting_id = models.BigIntegerField("记账凭证号")
    audit_seq = models.BigIntegerField("审计序号")
    audit_hash = models.CharField("审计哈希", max_length=64)
    bank_id = models.BigIntegerField(null=True, blank=True)
    division_code = models.CharField(max_length=12)
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "凭证"
        verbose_name_plural = "凭证"
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="receipt_one_per_movement"),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="receipt_amount_positive"),
        ]
        indexes = [models.Index(fields=["order", "id"], name="receipt_order_idx")]


class ContractAcceptance(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """The parent's acceptance of an order's contract (服务合同), with its time and the
    SHA-256 of the contract's particulars as accepted; at most one per order."""

    scope = ScopePaths(
        division="division_code", institution="institution_id", bank="bank_id", owner="order__parent_id"
    )

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="contract_acceptance")
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="contract_acceptances"
    )
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    accepted_at = models.DateTimeField("签署时间")
    contract_sha256 = models.CharField(max_length=64)
    bank_id = models.BigIntegerField(null=True, blank=True)
    division_code = models.CharField(max_length=12)

    class Meta:
        verbose_name = "合同签署"
        verbose_name_plural = "合同签署"
