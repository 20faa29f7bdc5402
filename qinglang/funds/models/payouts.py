"""Money out of custody and the bank's word on it: the daily release and refund
instructions, the bank's statements and the reconciliation (对账) differences between the
two."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import ScopePaths
from qinglang.registry.models import Institution

from .accounts import Bank


class InstructionKind(models.TextChoices):
    RELEASE = "release", _("拨付指令")
    REFUND = "refund", _("退费指令")


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
    note = models.CharField(_("说明"), max_length=300, blank=True)
    division_code = models.CharField(max_length=12)

    class Meta:
        verbose_name = _("划转指令")
        verbose_name_plural = _("划转指令")
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
    MISSING = "missing", _("银行流水缺失")
    EXTRA = "extra", _("银行多出流水")
    AMOUNT_MISMATCH = "amount_mismatch", _("金额不符")


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
        verbose_name = _("对账差异")
        verbose_name_plural = _("对账差异")
        constraints = [
            models.UniqueConstraint(fields=["bank_id", "txn_id", "kind"], name="recon_diff_unique"),
        ]
