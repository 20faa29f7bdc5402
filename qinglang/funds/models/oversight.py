"""What the regulator watches: institutions' declarations (申报) of the prepaid fees
they hold, and the funds signals kept for the risk module."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import ScopePaths
from qinglang.registry.models import Institution


class PrepaidDeclaration(models.Model):  # noqa: DJ008 - shown through their fields, not str()
    """An institution's periodic declaration of the prepaid fees it holds (申报)."""

    scope = ScopePaths(division="division_code", institution="institution_id")

    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="prepaid_declarations"
    )
    week_start = models.DateField(_("申报周(周一)"))
    declared_fen = models.BigIntegerField(_("申报预收费(分)"))
    division_code = models.CharField(max_length=12)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["institution", "week_start"], name="declaration_one_per_week"),
            models.CheckConstraint(condition=Q(declared_fen__gte=0), name="declaration_not_negative"),
        ]


class SignalKind(models.TextChoices):
    OBLIGATION_SHORTFALL = "obligation_shortfall", _("监管余额低于未消课预收费")
    LARGE_MOVEMENT = "large_movement", _("大额资金变动")


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
