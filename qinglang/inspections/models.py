# ruff: noqa: DJ008 -- rows are shown through their fields, not str()
"""Joint inspections (联合执法检查): campaigns, the random draw (双随机、一公开), teams,
tasks, checklists, inspection records with evidence, rectification notices and the
rectification register (整改台账) with its escalation letters.

The register refers to penalty cases only by id (``case_id``): enforcement sits above this
app and writes that column through ``rectification_mark_escalated``."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import ScopePaths
from qinglang.core.models import DepartmentKind, TransitionRow
from qinglang.core.states import StateMachine
from qinglang.registry.models import Institution, Site


class CampaignType(models.TextChoices):
    GENERAL = "general", _("综合检查")
    MEAL_CARE = "meal_care", _("托管(小饭桌)专项")
    DISGUISED = "disguised_training", _("隐形变异培训专项")
    SAFETY = "safety", _("安全专项")


class Domain(models.TextChoices):
    """Checklist domains of POLICY.md ("Inspections and rectification")."""

    QUALIFICATION = "qualification", _("资质证照")
    DISCLOSURE = "disclosure", _("收费与师资公示")
    FUNDS = "funds", _("资金监管与平台销售")
    STAFF_MATERIALS = "staff_materials", _("从业人员与培训材料")
    SURVEILLANCE = "surveillance", _("视频监控")
    FIRE = "fire", _("消防安全")
    FOOD = "food", _("食品安全(托管/小饭桌)")
    DISGUISED = "disguised_training", _("隐形变异学科类培训")
    COMPETITION = "illegal_competition", _("违规竞赛")
    BEYOND_SYLLABUS = "beyond_syllabus", _("超纲教学")
    SIGNAGE = "signage", _("招牌名称与登记名称一致")
    SCOPE = "business_scope", _("经营范围与实际教学一致")
    ARCHIVES = "archives", _("档案管理")
    ADVERTISING = "advertising", _("广告宣传")
    TRAINING_HOURS = "training_hours", _("培训时间")


class Severity(models.TextChoices):
    MINOR = "minor", _("一般")
    MAJOR = "major", _("较重")
    SERIOUS = "serious", _("严重")


class ChecklistTemplate(models.Model):
    """检查清单模板. ``division_code`` "" is a national default, readable by every regulator."""

    scope = ScopePaths(division="division_code")

    name = models.CharField(_("模板名称"), max_length=200)
    campaign_type = models.CharField(_("专项类型"), max_length=32, choices=CampaignType.choices)
    division_code = models.CharField(_("所属区划"), max_length=12, blank=True, db_index=True)
    is_default = models.BooleanField(_("默认模板"), default=False)
    # the platform's follow-up items (跟进事项), added to a task's checklist when the
    # institution has something to follow up (checklists.task_items); never a campaign's
    follow_up = models.BooleanField(_("跟进事项"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign_type", "id"]
        verbose_name = verbose_name_plural = _("检查清单模板")

    def __str__(self) -> str:
        return self.name

    def active_items(self):
        """The items asked in new inspections (retired items stay for recorded results)."""
        return self.items.filter(retired_at__isnull=True)


class ChecklistItem(models.Model):
    """检查事项: one thing checked, with its legal basis, severity and the department
    responsible for it."""

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    code = models.CharField(_("编号"), max_length=16)
    domain = models.CharField(_("领域"), max_length=32, choices=Domain.choices)
    title = models.CharField(_("检查事项"), max_length=300)
    basis = models.CharField(_("依据"), max_length=300)
    severity = models.CharField(
        _("严重程度"), max_length=16, choices=Severity.choices, default=Severity.MINOR
    )
    department_kind = models.CharField(_("责任部门"), max_length=32, choices=DepartmentKind.choices)
    position = models.PositiveIntegerField(default=0)
    # 停用: no longer asked in new inspections; kept because recorded results refer to it
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    class Meta:
        ordering = ["template_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["template", "code"], name="checklist_item_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("筹备中")
    DRAWN = "drawn", _("已抽取")
    CLOSED = "closed", _("已结束")


class Campaign(models.Model):
    """专项行动: a time-boxed action over a target population (a saved registry filter)."""

    scope = ScopePaths(division="division_code")

    name = models.CharField(_("名称"), max_length=200)
    campaign_type = models.CharField(_("专项类型"), max_length=32, choices=CampaignType.choices)
    division_code = models.CharField(_("区划"), max_length=12, db_index=True)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    # {"categories": [...], "kinds": [...], "licence_statuses": [...], "whitelisted": bool|None,
    #  "townships": [...]} — empty lists mean "any"
    target_filter = models.JSONField(_("检查对象"), default=dict, blank=True)
    departments = models.JSONField(_("参与部门"), default=list, blank=True)
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="campaigns")
    coverage_goal = models.PositiveSmallIntegerField(_("覆盖率目标(%)"), default=100)
    status = models.CharField(max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    created_by_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = verbose_name_plural = _("专项行动")
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="campaign_period"),
            models.CheckConstraint(condition=Q(coverage_goal__lte=100), name="campaign_goal_pct"),
        ]

    def __str__(self) -> str:
        return self.name


class Draw(models.Model):
    """A random draw (双随机): reproducible from ``seed`` over the population recorded by
    its digest; targets and teams are its output rows."""

    scope = ScopePaths(division="division_code", public=Q(published=True))

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="draw")
    division_code = models.CharField(max_length=12, db_index=True)
    seed = models.CharField(_("随机种子"), max_length=64)
    algorithm = models.CharField(max_length=32, default="qinglang-draw-v1")
    share = models.FloatField(_("抽取比例"), null=True, blank=True)
    count = models.PositiveIntegerField(_("抽取数量"), null=True, blank=True)
    team_size = models.PositiveSmallIntegerField(_("每组人数"), default=2)
    population_size = models.PositiveIntegerField(_("对象总数"))
    population_digest = models.CharField(max_length=64)
    inspector_pool = models.JSONField(default=list)  # user ids, sorted
    target_count = models.PositiveIntegerField(_("抽中数量"))
    targets = models.JSONField(default=list)  # institution ids in draw order
    exclusions = models.JSONField(default=list, blank=True)  # gap / conflict / unstaffed notes
    drawn_at = models.DateTimeField(auto_now_add=True)
    # the day the draw is made for: the year of random_inspection.annual_share it counts in
    drawn_on = models.DateField(_("抽取日期"))
    drawn_by_id = models.BigIntegerField(null=True)
    published = models.BooleanField(_("已公开"), default=False)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]


class ConflictOfInterest(models.Model):
    """A declared conflict of interest (回避): while it stands (not withdrawn), the inspector
    is never drawn or assigned to the institution. A withdrawal keeps the row (who, when,
    why); a later declaration is a new row."""

    scope = ScopePaths(division="institution__division_code")

    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("回避理由"), max_length=300)
    declared_on = models.DateField()
    declared_by_id = models.BigIntegerField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    withdrawn_by_id = models.BigIntegerField(null=True, blank=True)
    withdraw_reason = models.CharField(_("撤销理由"), max_length=300, blank=True)

    class Meta:
        ordering = ["-declared_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["inspector", "institution"],
                condition=Q(withdrawn_at__isnull=True),
                name="conflict_unique_standing",
            ),
        ]


class Team(models.Model):
    """检查组: inspectors from several departments."""

    scope = ScopePaths(division="division_code")

    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="teams"
    )
    division_code = models.CharField(max_length=12, db_index=True)
    name = models.CharField(_("组名"), max_length=100)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    department_kind = models.CharField(max_length=32, choices=DepartmentKind.choices, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="team_member_unique")]


class TaskStatus(models.TextChoices):
    PLANNED = "planned", _("待检查")
    COMPLETED = "completed", _("已检查")
    CANCELLED = "cancelled", _("已取消")


class TaskOrigin(models.TextChoices):
    DRAW = "draw", _("随机抽取")
    CLUE = "clue", _("线索核查")
    ADHOC = "adhoc", _("临时安排")


class Task(models.Model):
    """An inspection of one site (or of the institution where it has no site) on a date."""

    scope = ScopePaths(division="division_code")

    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="inspection_tasks")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    division_code = models.CharField(max_length=12, db_index=True)
    scheduled_on = models.DateField(_("检查日期"))
    due_on = models.DateField(_("完成期限"))
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.PLANNED)
    origin = models.CharField(max_length=16, choices=TaskOrigin.choices, default=TaskOrigin.DRAW)
    origin_ref = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scheduled_on", "id"]
        indexes = [
            models.Index(fields=["division_code", "status"], name="insp_task_div_status"),
            models.Index(fields=["institution", "scheduled_on"], name="insp_task_inst_day"),
        ]


class Outcome(models.TextChoices):
    COMPLIANT = "compliant", _("符合")
    FIXED_ON_SITE = "fixed_on_site", _("立行立改")
    RECTIFICATION = "rectification", _("限期整改")


class Record(models.Model):
    """检查记录 of one task."""

    scope = ScopePaths(division="division_code")

    task = models.OneToOneField(Task, on_delete=models.PROTECT, related_name="record")
    division_code = models.CharField(max_length=12, db_index=True)
    inspected_on = models.DateField(_("检查日期"))
    summary = models.TextField(_("检查情况"), blank=True)
    submitted_by_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    deadline_days = models.PositiveSmallIntegerField(_("整改期限(工作日)"), null=True, blank=True)
    # rectification findings whose notice the batch job has yet to issue (defer_notice)
    notice_pending = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["id"], condition=Q(notice_pending=True), name="insp_record_notice_pending")
        ]


class Result(models.Model):
    """One checklist item's result; a non-compliant result is a finding (问题)."""

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="results")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    description = models.TextField(_("问题描述"), blank=True)
    requirement = models.TextField(_("整改要求"), blank=True)

    class Meta:
        ordering = ["record_id", "item__position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["record", "item"], name="result_one_per_item"),
            models.CheckConstraint(
                condition=Q(outcome="compliant") | ~Q(description=""), name="finding_has_description"
            ),
        ]


class Evidence(models.Model):
    """An evidence file (photo or document): type checked by content, size limited, stored
    under MEDIA_ROOT (outside the web root) by its SHA-256 digest."""

    scope = ScopePaths(division="division_code", institution="institution_id")

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    division_code = models.CharField(max_length=12, db_index=True)
    result = models.ForeignKey(
        Result, null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    rectification_item = models.ForeignKey(
        "RectificationItem", null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    path = models.CharField(max_length=200)  # relative to MEDIA_ROOT
    uploaded_by_id = models.BigIntegerField(null=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)


class Notice(models.Model):
    """整改通知书: a .docx official document stored with its digest."""

    scope = ScopePaths(division="division_code", institution="institution_id")

    number = models.CharField(_("文号"), max_length=64, unique=True)
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="notices")
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="rectification_notices"
    )
    division_code = models.CharField(max_length=12, db_index=True)
    issued_on = models.DateField(_("发文日期"))
    deadline_days = models.PositiveSmallIntegerField(_("整改期限(工作日)"))
    deadline_on = models.DateField(_("整改期限"))
    departments = models.JSONField(_("发文部门"), default=list)
    path = models.CharField(max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    issued_by_id = models.BigIntegerField(null=True)

    class Meta:
        ordering = ["-issued_on", "-id"]


class RectificationStatus(models.TextChoices):
    ISSUED = "issued", _("待整改")
    SUBMITTED = "submitted", _("已提交整改材料")
    VERIFIED = "verified", _("复查通过")
    RETURNED = "returned", _("退回重改")
    CLOSED_OUT = "closed_out", _("已销号")


# Rectification register state machine: one service per transition (services/rectification.py).
RECTIFICATION_TRANSITIONS: dict[str, set[str]] = {
    RectificationStatus.ISSUED: {RectificationStatus.SUBMITTED},
    RectificationStatus.SUBMITTED: {RectificationStatus.VERIFIED, RectificationStatus.RETURNED},
    RectificationStatus.RETURNED: {RectificationStatus.SUBMITTED},
    RectificationStatus.VERIFIED: {RectificationStatus.CLOSED_OUT},
    RectificationStatus.CLOSED_OUT: set(),
}
# Items the institution still owes: the deadline runs against these.
OPEN_STATUSES = (RectificationStatus.ISSUED, RectificationStatus.RETURNED)


class Escalation(models.IntegerChoices):
    NONE = 0, _("未逾期升级")
    REMINDER = 1, _("已发提示函")
    SUPERVISION = 2, _("已发督办函")
    CASE_DUE = 3, _("应立案")
    CASE_FILED = 4, _("已立案")


class RectificationItem(models.Model):
    """整改台账 item: one per rectification finding."""

    scope = ScopePaths(division="division_code", institution="institution_id", department="department_kind")

    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="items")
    result = models.OneToOneField(
        Result, null=True, blank=True, on_delete=models.PROTECT, related_name="rectification_item"
    )
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="rectification_items")
    division_code = models.CharField(max_length=12)
    department_kind = models.CharField(_("责任部门"), max_length=32, choices=DepartmentKind.choices)
    title = models.CharField(_("问题"), max_length=300)
    basis = models.CharField(_("依据"), max_length=300, blank=True)
    requirement = models.TextField(_("整改要求"), blank=True)
    contact_name = models.CharField(_("机构联系人"), max_length=64, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    measures = models.TextField(_("整改措施"), blank=True)
    deadline_on = models.DateField(_("整改期限"))
    status = models.CharField(
        max_length=16, choices=RectificationStatus.choices, default=RectificationStatus.ISSUED
    )
    escalation = models.PositiveSmallIntegerField(choices=Escalation.choices, default=Escalation.NONE)
    case_id = models.BigIntegerField(null=True, blank=True)  # enforcement.PenaltyCase id
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["deadline_on", "id"]
        indexes = [
            models.Index(fields=["division_code", "status", "deadline_on"], name="rect_div_status_deadline"),
            models.Index(fields=["status", "deadline_on"], name="rect_status_deadline"),
        ]


class RectificationItemTransition(TransitionRow):
    """Insert-only history of rectification item status changes."""

    item = models.ForeignKey(RectificationItem, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=RectificationStatus.choices)
    to_status = models.CharField(max_length=16, choices=RectificationStatus.choices)

    class Meta(TransitionRow.Meta):
        ordering = ["id"]


RECTIFICATION_STATES = StateMachine(
    "rectification_item",
    RectificationStatus,
    RECTIFICATION_TRANSITIONS,
    model=RectificationItem,
    history=RectificationItemTransition,
    action="rectification",
)


class LetterKind(models.TextChoices):
    REMINDER = "reminder", _("整改提示函")
    SUPERVISION = "supervision", _("整改督办函")


class Letter(models.Model):
    """提示函 / 督办函 for an overdue item. Rows are inserted set-based by the sweep; the
    .docx is rendered afterwards (``letters_render_pending``) or on first download."""

    scope = ScopePaths(division="division_code", institution="institution_id")

    item = models.ForeignKey(RectificationItem, on_delete=models.CASCADE, related_name="letters")
    institution_id = models.BigIntegerField(db_index=True)
    division_code = models.CharField(max_length=12)
    kind = models.CharField(max_length=16, choices=LetterKind.choices)
    issued_on = models.DateField()
    overdue_days = models.PositiveSmallIntegerField(default=0)
    # 发文字号, taken from the gapless counter when the letter is rendered
    number = models.CharField(_("文号"), max_length=64, blank=True)
    path = models.CharField(max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-issued_on", "-id"]
        constraints = [models.UniqueConstraint(fields=["item", "kind"], name="letter_once_per_kind")]


class SweepRun(models.Model):
    """One run of the overdue sweep, with what it did (the job catches up from state)."""

    ran_on = models.DateField()
    started_at = models.DateTimeField(auto_now_add=True)
    reminders = models.PositiveIntegerField(default=0)
    supervisions = models.PositiveIntegerField(default=0)
    cases_due = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)
