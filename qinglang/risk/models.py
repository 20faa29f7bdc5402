"""Risk early warning (风险预警) and 包保: signals → daily score and level → alerts and
their handling → guardians of orange and red institutions → the runaway plan.

No model here declares an ``institution`` scope path: an institution never sees its own
risk level, signals, alerts or guardian (restrict gives institution users nothing)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import ScopePaths
from qinglang.core.models import DepartmentKind, TransitionRow
from qinglang.core.states import StateMachine


class Level(models.TextChoices):
    BLUE = "blue", _("蓝色(正常)")
    YELLOW = "yellow", _("黄色预警")
    ORANGE = "orange", _("橙色预警")
    RED = "red", _("红色预警")


LEVEL_RANK = {Level.BLUE: 0, Level.YELLOW: 1, Level.ORANGE: 2, Level.RED: 3}
GUARDED_LEVELS = (Level.ORANGE, Level.RED)


class SignalSource(models.TextChoices):
    COMPUTED = "computed", _("系统计算")
    TOWNSHIP = "township", _("乡镇(街道)")
    BANK = "bank", _("托管银行")
    LABOUR = "labour", _("劳动监察")
    POLICE = "police", _("公安")
    REGULATOR = "regulator", _("主管部门")


MANUAL_SOURCES = [s for s in SignalSource.values if s != SignalSource.COMPUTED]


class RiskReport(models.Model):
    """A signal entered by hand (乡镇、银行、劳动监察、公安报送), with its evidence; it
    counts in the daily score for ``risk.manual_signal_days`` from the day it was seen."""

    scope = ScopePaths(division="division_code")

    institution = models.ForeignKey("registry.Institution", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("信号类型"), max_length=32)
    source = models.CharField(_("报送单位类型"), max_length=16, choices=SignalSource.choices)
    reporter_unit = models.CharField(_("报送单位"), max_length=100)
    observed_on = models.DateField(_("发现日期"))
    evidence = models.TextField(_("证据说明"))
    evidence_file = models.CharField(_("证据文件"), max_length=255, blank=True)
    evidence_sha256 = models.CharField(max_length=64, blank=True)
    division_code = models.CharField(max_length=12)
    reported_by_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("风险信号报送")
        verbose_name_plural = _("风险信号报送")
        indexes = [models.Index(fields=["observed_on", "institution"], name="risk_report_day_inst")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class RiskSignal(models.Model):
    """One signal that fired for an institution on a day, with the value, the threshold
    and weight that applied (and where they were set) and the evidence: the source rows
    (``{"model": "funds.refund", "ids": [...]}``)."""

    scope = ScopePaths(division="division_code", department="department_kind")

    institution = models.ForeignKey("registry.Institution", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    kind = models.CharField(max_length=32)
    value = models.FloatField()
    threshold = models.FloatField()
    weight = models.PositiveSmallIntegerField()
    set_in = models.CharField(max_length=12, blank=True)  # division that set the threshold ("" national)
    evidence = models.JSONField(default=dict)
    division_code = models.CharField(max_length=12)
    department_kind = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["institution", "day", "kind"], name="risk_signal_once_a_day")
        ]
        indexes = [models.Index(fields=["day", "institution"], name="risk_signal_day_inst")]

    def __str__(self) -> str:
        return f"{self.kind}@{self.day}"


class RiskScore(models.Model):
    """An institution's score and level on a day, explained (which signals, weights and the
    level thresholds that applied). Written for every institution with a signal that day
    and for every one whose level changed; a missing day means score 0, blue."""

    scope = ScopePaths(division="division_code", department="department_kind")

    institution = models.ForeignKey("registry.Institution", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    score = models.PositiveIntegerField()
    level = models.CharField(max_length=8, choices=Level.choices)
    previous_level = models.CharField(max_length=8, choices=Level.choices)
    explanation = models.JSONField(default=dict)
    division_code = models.CharField(max_length=12)
    department_kind = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["institution", "day"], name="risk_score_once_a_day")]
        indexes = [
            models.Index(fields=["day", "level"], name="risk_score_day_level"),
            models.Index(fields=["institution", "day"], name="risk_score_inst_day"),
        ]

    def __str__(self) -> str:
        return f"{self.institution_id}@{self.day}:{self.level}"


class RiskState(models.Model):
    """The institution's current level (one row per institution ever scored above blue)."""

    scope = ScopePaths(division="division_code", department="department_kind")

    institution = models.OneToOneField(
        "registry.Institution", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.BLUE)
    score = models.PositiveIntegerField(default=0)
    day = models.DateField()
    since = models.DateField()
    division_code = models.CharField(max_length=12)
    department_kind = models.CharField(max_length=32, blank=True)

    class Meta:
        indexes = [models.Index(fields=["level", "division_code"], name="risk_state_level_div")]

    def __str__(self) -> str:
        return f"{self.institution_id}:{self.level}"


class AlertStatus(models.TextChoices):
    OPEN = "open", _("待处置")
    HANDLING = "handling", _("处置中")
    CLOSED = "closed", _("已办结")


ALERT_TRANSITIONS: dict[str, set[str]] = {
    AlertStatus.OPEN: {AlertStatus.HANDLING, AlertStatus.CLOSED},
    AlertStatus.HANDLING: {AlertStatus.CLOSED},
    AlertStatus.CLOSED: set(),
}


class Alert(models.Model):
    """A warning for the competent department, opened when an institution rises to yellow
    or above, to be handled within the level's time limit (``risk.alert_days``)."""

    scope = ScopePaths(division="division_code", department="department_kind")

    institution = models.ForeignKey("registry.Institution", on_delete=models.PROTECT, related_name="+")
    level = models.CharField(_("预警等级"), max_length=8, choices=Level.choices)
    status = models.CharField(_("状态"), max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    opened_on = models.DateField(_("预警日期"))
    due_on = models.DateField(_("处置时限"))
    escalated = models.BooleanField(_("已升级督办"), default=False)
    result = models.TextField(_("处置结果"), blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    explanation = models.JSONField(default=dict)
    division_code = models.CharField(max_length=12)
    department_kind = models.CharField(
        _("主管部门"), max_length=32, choices=DepartmentKind.choices, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("风险预警")
        verbose_name_plural = _("风险预警")
        constraints = [
            models.UniqueConstraint(
                fields=["institution"], condition=~Q(status="closed"), name="risk_alert_one_open"
            )
        ]
        indexes = [models.Index(fields=["division_code", "status", "due_on"], name="risk_alert_div_status")]

    def __str__(self) -> str:
        return f"预警#{self.pk}"


class AlertTransition(TransitionRow):
    """Insert-only history of an alert's status (``ALERT_STATES``); an alert opened in
    ``open`` has a first row open → open."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=12, choices=AlertStatus.choices)
    to_status = models.CharField(max_length=12, choices=AlertStatus.choices)


ALERT_STATES = StateMachine(
    "risk_alert", AlertStatus, ALERT_TRANSITIONS, model=Alert, history=AlertTransition, action="risk.alert"
)


class ActionKind(models.TextChoices):
    INTERVIEW = "interview", _("约谈")
    ONSITE_CHECK = "onsite_check", _("现场检查")
    STOP_PAYOUTS = "stop_payouts", _("函告托管银行暂停拨付")
    STOP_ENROLLING = "stop_enrolling", _("责令停止招生")
    POLICE_REFERRAL = "police_referral", _("移送公安机关")
    LABOUR_REFERRAL = "labour_referral", _("移交劳动监察(欠薪)")
    NOTE = "note", _("处置记录")


class AlertAction(models.Model):
    """One handling step of an alert (约谈, 现场检查, …) with what it opened elsewhere."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="actions")
    kind = models.CharField(_("处置措施"), max_length=20, choices=ActionKind.choices)
    note = models.TextField(_("情况说明"))
    ref = models.CharField(_("关联编号"), max_length=64, blank=True)  # inspection task id, …
    actor_id = models.BigIntegerField(null=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return self.get_kind_display()


class Guardian(models.Model):
    """包保责任人: a unit and a person assigned by the task force to an orange or red
    institution, checking in every ``risk.guardian_checkin_days`` until the level falls."""

    scope = ScopePaths(division="division_code", owner="user_id")

    institution = models.ForeignKey("registry.Institution", on_delete=models.PROTECT, related_name="+")
    unit = models.CharField(_("包保单位"), max_length=100)
    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(default=True)
    assigned_on = models.DateField(_("包保起始"))
    next_due = models.DateField(_("下次走访截止"))
    escalated_due = models.DateField(null=True, blank=True)  # the missed due already escalated
    ended_on = models.DateField(null=True, blank=True)
    ended_reason = models.CharField(max_length=200, blank=True)
    assigned_by_id = models.BigIntegerField(null=True)
    division_code = models.CharField(max_length=12)

    class Meta:
        verbose_name = _("包保责任人")
        verbose_name_plural = _("包保责任人")
        constraints = [
            models.UniqueConstraint(
                fields=["institution"], condition=Q(active=True), name="risk_guardian_one"
            )
        ]

    def __str__(self) -> str:
        return self.unit


class CheckIn(models.Model):
    """A guardian's visit: what was seen, with photos (stored files)."""

    guardian = models.ForeignKey(Guardian, on_delete=models.PROTECT, related_name="checkins")
    visited_on = models.DateField(_("走访日期"))
    seen = models.TextField(_("走访情况"))
    photos = models.JSONField(default=list)  # [{"path", "sha256", "content_type"}]
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-visited_on", "-id"]

    def __str__(self) -> str:
        return f"{self.guardian_id}@{self.visited_on}"


class RunawayPlan(models.Model):
    """What follows a runaway: payouts frozen, the pro-rata refund plan from what custody
    holds (one line per affected order), referrals for unpaid staff."""

    scope = ScopePaths(division="division_code", department="department_kind")

    institution = models.OneToOneField("registry.Institution", on_delete=models.PROTECT, related_name="+")
    custody_fen = models.BigIntegerField(_("监管账户余额(分)"))
    claims_fen = models.BigIntegerField(_("未消课预收费(分)"))
    lines = models.JSONField(default=list)  # [{"order_id", "claim_fen", "share_fen"}]
    payouts_stopped = models.JSONField(default=list)  # instruction refs stopped
    staff_referred = models.PositiveIntegerField(default=0)
    division_code = models.CharField(max_length=12)
    department_kind = models.CharField(max_length=32, blank=True)
    created_by_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"跑路处置#{self.pk}"
