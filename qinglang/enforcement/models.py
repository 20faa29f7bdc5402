# ruff: noqa: DJ008 -- rows are shown through their fields, not str()
"""Administrative penalty cases (行政处罚) under the 2023 measures (MoE Order No. 53):
filing, evidence, the decision with penalty kinds and amounts, its effects on the
registry and funds, and publication as a typical case (典型案例)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import ScopePaths
from qinglang.core.models import DepartmentKind, TransitionRow
from qinglang.core.states import StateMachine
from qinglang.inspections.models import Evidence
from qinglang.registry.models import Institution


class CaseType(models.TextChoices):
    UNAUTHORIZED = "unauthorized_operation", _("擅自举办校外培训机构")
    DISGUISED = "disguised_training", _("隐形变异培训")
    COMPETITION = "illegal_competition", _("违规组织竞赛")
    OTHER = "other", _("其他违法违规行为")


class Origin(models.TextChoices):
    INSPECTION = "inspection", _("检查发现")
    CLUE = "clue", _("线索移交")
    ESCALATION = "escalation", _("逾期未整改升级")


class Gravity(models.TextChoices):
    ORDINARY = "ordinary", _("一般")
    SERIOUS = "serious", _("情节严重")
    ESPECIALLY_SERIOUS = "especially_serious", _("情节特别严重")


class CaseStatus(models.TextChoices):
    FILED = "filed", _("已立案")
    INVESTIGATING = "investigating", _("调查取证")
    DECIDED = "decided", _("已作出决定")
    CLOSED = "closed", _("已结案")
    WITHDRAWN = "withdrawn", _("已撤销立案")


# Penalty case state machine: one service per transition (services.py).
CASE_TRANSITIONS: dict[str, set[str]] = {
    CaseStatus.FILED: {CaseStatus.INVESTIGATING, CaseStatus.DECIDED, CaseStatus.WITHDRAWN},
    CaseStatus.INVESTIGATING: {CaseStatus.DECIDED, CaseStatus.WITHDRAWN},
    CaseStatus.DECIDED: {CaseStatus.CLOSED},
    CaseStatus.CLOSED: set(),
    CaseStatus.WITHDRAWN: set(),
}


class PenaltyKind(models.TextChoices):
    WARNING = "warning", _("警告")
    PUBLIC_CRITICISM = "public_criticism", _("通报批评")
    FINE = "fine", _("罚款")
    CONFISCATION = "confiscation", _("没收违法所得")
    STOP_ENROLLMENT = "stop_enrollment", _("责令停止招收学员")
    STOP_OPERATION = "stop_operation", _("责令停止举办")
    REVOKE_PERMIT = "revoke_permit", _("吊销许可证件")
    PRACTICE_BAN = "practice_ban", _("限制从业")
    OTHER = "other", _("其他")


class PenaltyCase(models.Model):
    """行政处罚案件."""

    scope = ScopePaths(
        division="division_code",
        institution="institution_id",
        department="department_kind",
        public=Q(typical__isnull=False),
    )

    number = models.CharField(_("案号"), max_length=64, unique=True)
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="penalty_cases")
    division_code = models.CharField(max_length=12, db_index=True)
    department_kind = models.CharField(_("承办部门"), max_length=32, choices=DepartmentKind.choices)
    case_type = models.CharField(_("案件类型"), max_length=32, choices=CaseType.choices)
    origin = models.CharField(_("案件来源"), max_length=16, choices=Origin.choices)
    origin_ref = models.CharField(max_length=64, blank=True)
    facts = models.TextField(_("违法事实"))
    illegal_gains_fen = models.BigIntegerField(_("违法所得(分)"), default=0)
    refunded_fen = models.BigIntegerField(_("已退还学员费用(分)"), default=0)
    status = models.CharField(max_length=16, choices=CaseStatus.choices, default=CaseStatus.FILED)
    filed_on = models.DateField(_("立案日期"))
    filed_by_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-filed_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(illegal_gains_fen__gte=0) & Q(refunded_fen__gte=0), name="case_money_nonneg"
            )
        ]

    def __str__(self) -> str:
        return self.number


class PenaltyCaseTransition(TransitionRow):
    """Insert-only history of case status changes."""

    case = models.ForeignKey(PenaltyCase, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=CaseStatus.choices)
    to_status = models.CharField(max_length=16, choices=CaseStatus.choices)

    class Meta(TransitionRow.Meta):
        ordering = ["id"]


CASE_STATES = StateMachine(
    "penalty_case",
    CaseStatus,
    CASE_TRANSITIONS,
    model=PenaltyCase,
    history=PenaltyCaseTransition,
    action="case",
)


class CaseEvidence(models.Model):
    """Evidence of a case: a stored file (shared storage with inspections) or a reference."""

    case = models.ForeignKey(PenaltyCase, on_delete=models.CASCADE, related_name="evidence")
    file = models.ForeignKey(Evidence, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    description = models.CharField(_("说明"), max_length=300)
    added_by_id = models.BigIntegerField(null=True)
    added_at = models.DateTimeField(auto_now_add=True)


class Decision(models.Model):
    """行政处罚决定."""

    case = models.OneToOneField(PenaltyCase, on_delete=models.PROTECT, related_name="decision")
    decided_on = models.DateField(_("决定日期"))
    gravity = models.CharField(_("情节"), max_length=24, choices=Gravity.choices, default=Gravity.ORDINARY)
    reasoning = models.TextField(_("理由与依据"))
    blacklist = models.BooleanField(_("列入黑名单"), default=False)
    effects = models.JSONField(default=list)  # what was applied, in order
    decided_by_id = models.BigIntegerField(null=True)


class Penalty(models.Model):
    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="penalties")
    kind = models.CharField(max_length=24, choices=PenaltyKind.choices)
    amount_fen = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["decision", "kind"], name="penalty_kind_once"),
            models.CheckConstraint(condition=Q(amount_fen__gte=0), name="penalty_amount_nonneg"),
        ]


class TypicalCase(models.Model):
    """典型案例: a decided case published on the public site."""

    case = models.OneToOneField(PenaltyCase, on_delete=models.PROTECT, related_name="typical")
    title = models.CharField(_("标题"), max_length=200)
    summary = models.TextField(_("案情摘要"))
    published_on = models.DateField()
    published_by_id = models.BigIntegerField(null=True)

    class Meta:
        ordering = ["-published_on", "-id"]
