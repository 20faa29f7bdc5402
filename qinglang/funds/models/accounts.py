"""Custody banks and custody accounts, and the double-entry ledger: its accounts,
postings and entries.

Money is integer fen. Ledger sign convention: an entry's ``amount_fen`` is positive for a
debit and negative for a credit; every posting's entries sum to zero. Asset accounts
(custody) are debit-normal, liabilities (prepaid, settlement, refunds payable, risk
deposit) credit-normal; ``LedgerAccount.balance_fen`` is the signed sum of its entries and
``normal_balance`` shows it the natural way round."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import ScopePaths
from qinglang.registry.models import Institution


class Bank(models.Model):
    """A custody bank (托管银行) registered for a division; notifications it sends are
    signed with HMAC-SHA256 under its shared secret (stored encrypted)."""

    scope = ScopePaths(division="division_code", bank="id")

    code = models.CharField(_("银行编码"), max_length=32, unique=True)
    name = models.CharField(_("银行名称"), max_length=100)
    division_code = models.CharField(_("所属区划"), max_length=12)
    secret_encrypted = models.TextField(_("通知签名密钥(加密)"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("托管银行")
        verbose_name_plural = _("托管银行")
        indexes = [models.Index(fields=["division_code", "id"], name="bank_div_idx")]

    def __str__(self) -> str:
        return self.name


class CustodyMode(models.TextChoices):
    BANK_CUSTODY = "bank_custody", _("银行托管")
    RISK_DEPOSIT = "risk_deposit", _("风险保证金")


class CustodyAccount(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """An institution's custody account (托管专户 / 监管账户) at a bank. Without one an
    institution takes no orders. ``releases_frozen`` is set by a penalty decision that
    stops operation: lessons then release nothing until unfrozen (refunds still work)."""

    scope = ScopePaths(division="division_code", institution="institution_id", bank="bank_id")

    institution = models.OneToOneField(Institution, on_delete=models.PROTECT, related_name="custody_account")
    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="accounts")
    mode = models.CharField(_("监管方式"), max_length=16, choices=CustodyMode.choices)
    account_number = models.CharField(_("账号"), max_length=40)
    # the name the account is held under, as the bank shows it (blank: the institution's)
    account_name = models.CharField(_("户名"), max_length=100, blank=True)
    opened_on = models.DateField(_("开户日期"))
    # risk-deposit mode: a fixed minimum set at opening; the deposit actually required
    # also follows ``custody.risk_deposit_ratio`` (services.deposits.deposit_requirement)
    required_deposit_fen = models.BigIntegerField(_("应缴保证金(分)"), default=0)
    deposit_held_fen = models.BigIntegerField(_("已缴保证金(分)"), default=0)
    releases_frozen = models.BooleanField(_("暂停拨付"), default=False)
    frozen_reason = models.CharField(_("暂停原因"), max_length=500, blank=True)
    division_code = models.CharField(_("所属区划"), max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("监管账户")
        verbose_name_plural = _("监管账户")
        constraints = [
            models.UniqueConstraint(fields=["bank", "account_number"], name="custody_account_number_unique"),
            models.CheckConstraint(
                condition=Q(required_deposit_fen__gte=0, deposit_held_fen__gte=0),
                name="custody_deposit_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["division_code", "id"], name="custody_div_idx")]


class AccountKind(models.TextChoices):
    CUSTODY = "custody", _("监管户(资产)")
    PREPAID = "prepaid", _("订单预收(负债)")
    PENDING_RELEASE = "pending_release", _("待家长确认拨付(负债)")
    SETTLEMENT = "settlement", _("机构待结算(负债)")
    REFUNDS_PAYABLE = "refunds_payable", _("应退费(负债)")
    RISK_DEPOSIT = "risk_deposit", _("风险保证金(负债)")
    SUSPENSE = "suspense", _("对账挂账")


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
        verbose_name = _("账户")
        verbose_name_plural = _("账户")
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

    PAYMENT = "payment", _("缴费入托管")
    RELEASE = "release", _("消课拨付")  # straight to settlement: before two-phase release, and catch-ups
    RELEASE_REVERSAL = "release_reversal", _("消课异议冲正")
    # two-phase release (一课一消): a lesson's price waits in pending until the parent
    # confirms (or is deemed to), then is posted to settlement, or voided back to prepaid
    RELEASE_PENDING = "release_pending", _("消课待确认")
    RELEASE_POST = "release_post", _("确认拨付")
    RELEASE_VOID = "release_void", _("异议成立退回")
    REFUND = "refund", _("退费")
    PRO_RATA_REFUND = "pro_rata_refund", _("按比例清退")
    SETTLEMENT_PAYOUT = "settlement_payout", _("拨付划转")
    REFUND_PAYOUT = "refund_payout", _("退费划转")
    DEPOSIT = "deposit", _("缴存保证金")
    CORRECTION = "correction", _("对账更正")


class Posting(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """A set of entries summing to zero, immutable. ``idempotency_key`` is chosen by the
    client: a retry with the same payload returns this posting, the same key with a
    different payload is refused. Corrections are new postings naming ``reverses``."""

    scope = ScopePaths(division="division_code", institution="institution_id", bank="bank_id")

    # unique by a constraint, not ``unique=True``: that would add a second (LIKE) index
    # on PostgreSQL, written for every posting and never read
    idempotency_key = models.CharField(max_length=120)
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
    amount_fen = models.BigIntegerField(_("金额(分)"))  # the sum of the debits
    # no database FK check: a reversing posting is written in the same call as the
    # posting it reverses is read under its lock (``ledger verify`` proves the reference)
    reverses = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, db_constraint=False)
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("记账凭证")
        verbose_name_plural = _("记账凭证")
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="posting_amount_positive"),
            models.UniqueConstraint(fields=["idempotency_key"], name="posting_key_unique"),
        ]
        indexes = [models.Index(fields=["institution", "id"], name="posting_inst_idx")]


class Entry(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """One leg of a posting; insert-only. Written only by the ledger, in the same call as
    its posting and under the lock of its account (a missing account fails the call), so
    neither reference has a database FK check: each would be a trigger per row at commit,
    three quarters of a second per 100,000 lessons. ``ledger verify`` proves that every
    entry's posting and account exist."""

    scope = ScopePaths(
        division="account__division_code", institution="account__institution_id", bank="account__bank_id"
    )

    posting = models.ForeignKey(
        Posting, on_delete=models.PROTECT, related_name="entries", db_constraint=False
    )
    account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, related_name="entries", db_constraint=False
    )
    amount_fen = models.BigIntegerField()

    class Meta:
        verbose_name = _("分录")
        verbose_name_plural = _("分录")
        constraints = [models.CheckConstraint(condition=~Q(amount_fen=0), name="entry_amount_nonzero")]
