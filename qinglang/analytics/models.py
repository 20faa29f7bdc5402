"""Roll-up tables of the indicators (DHIS2's analytics tables): one row per indicator,
period, division (any level; "" is the whole country) and competent department ("" is
all departments), holding the numerator and the denominator, so a value is always shown
with what it was computed from."""

from django.db import models

from qinglang.accounts.scope import ScopePaths


class Period(models.TextChoices):
    DAY = "day", "日"
    WEEK = "week", "周"
    MONTH = "month", "月"


class IndicatorValue(models.Model):  # noqa: DJ008 - shown through its fields
    scope = ScopePaths(division="division_code", department="department_kind")

    indicator = models.CharField("指标", max_length=64)
    period = models.CharField("周期", max_length=8, choices=Period.choices)
    period_start = models.DateField("周期起")
    division_code = models.CharField("区划", max_length=12, blank=True)
    department_kind = models.CharField("主管部门", max_length=32, blank=True)
    numerator = models.BigIntegerField("分子", default=0)
    denominator = models.BigIntegerField("分母", default=0)
    refreshed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "period", "period_start", "division_code", "department_kind"],
                name="indicator_value_unique",
            )
        ]
        indexes = [
            models.Index(fields=["period", "period_start", "division_code"], name="indicator_value_lookup"),
        ]

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


class DirtyDay(models.Model):  # noqa: DJ008 - bookkeeping
    """A day whose roll-ups a change (save, delete, back-dated record) has made stale."""

    day = models.DateField(unique=True)
    marked_at = models.DateTimeField(auto_now_add=True)


class RefreshState(models.Model):  # noqa: DJ008 - one row
    """The last day the refresh brought current: the next refresh recomputes every day
    since (catching up after downtime) plus the dirty days."""

    last_day = models.DateField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
