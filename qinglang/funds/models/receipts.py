"""What parents keep: receipts (凭证) for the money's movements and the accepted
contract."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import ScopePaths
from qinglang.registry.models import Institution

from .orders import Order


class ReceiptKind(models.TextChoices):
    PAYMENT = "payment", _("缴费凭证")
    CONFIRMATION = "confirmation", _("消课拨付凭证")
    REFUND = "refund", _("退费凭证")


class Receipt(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """A receipt (凭证) for one payment, one lesson's posted release or one refund. It
    names the ledger posting and the audit event (its chain hash) that recorded the
    movement; ``code`` is the verification code, random (80 bits), checked by anyone at
    ``/verify/<code>`` (amount, date, institution and state; nothing personal). One per
    movement: (kind, object_id) is unique."""

    scope = ScopePaths(
        division="division_code", institution="institution_id", bank="bank_id", owner="order__parent_id"
    )

    code = models.CharField(_("核验码"), max_length=16, unique=True)
    kind = models.CharField(max_length=16, choices=ReceiptKind.choices)
    object_id = models.BigIntegerField()  # the payment, lesson or refund
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="receipts")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="receipts")
    amount_fen = models.BigIntegerField(_("金额(分)"))
    occurred_at = models.DateTimeField(_("发生时间"))
    posting_id = models.BigIntegerField(_("记账凭证号"))
    audit_seq = models.BigIntegerField(_("审计序号"))
    audit_hash = models.CharField(_("审计哈希"), max_length=64)
    bank_id = models.BigIntegerField(null=True, blank=True)
    division_code = models.CharField(max_length=12)
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("凭证")
        verbose_name_plural = _("凭证")
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
    accepted_at = models.DateTimeField(_("签署时间"))
    contract_sha256 = models.CharField(max_length=64)
    bank_id = models.BigIntegerField(null=True, blank=True)
    division_code = models.CharField(max_length=12)

    class Meta:
        verbose_name = _("合同签署")
        verbose_name_plural = _("合同签署")
