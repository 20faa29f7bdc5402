"""Roll-up tables of the indicators (DHIS2's analytics tables): one row per indicator,
period, division (any level; "" is the whole country) and competent department ("" is
all departments), holding the numerator and the denominator, so a value is always shown
with what it was computed from."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import ScopePaths
from qinglang.core.models import TransitionRow
from qinglang.core.states import StateMachine


class Period(models.TextChoices):
    DAY = "day", _("日")
    WEEK = "week", _("周")
    MONTH = "month", _("月")


class IndicatorValue(models.Model):  # noqa: DJ008 - shown through its fields
    scope = ScopePaths(division="division_code", department="department_kind")

    indicator = models.CharField(_("指标"), max_length=64)
    period = models.CharField(_("周期"), max_length=8, choices=Period.choices)
    period_start = models.DateField(_("周期起"))
    division_code = models.CharField(_("区划"), max_length=12, blank=True)
    department_kind = models.CharField(_("主管部门"), max_length=32, blank=True)
    numerator = models.BigIntegerField(_("分子"), default=0)
    denominator = models.BigIntegerField(_("分母"), default=0)
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


class SchoolReport(models.Model):
    """The education department's report on a division's compulsory-education schools
    (the platform does not register schools): how many there are, how many offer
    after-school service (课后服务) and how many keep written homework within the limits.
    The latest report on or before a day is that day's figure."""

    scope = ScopePaths(division="division_code", department="department_kind")

    division_code = models.CharField(_("区划"), max_length=12)
    department_kind = models.CharField(_("报送部门"), max_length=32, default="education")
    report_on = models.DateField(_("报送日期"))
    schools = models.PositiveIntegerField(_("义务教育学校数"))
    after_school = models.PositiveIntegerField(_("开展课后服务学校数"))
    homework_ok = models.PositiveIntegerField(_("作业时长达标学校数"))
    reported_by_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("学校情况报送")
        ordering = ["division_code", "-report_on", "-id"]
        indexes = [models.Index(fields=["division_code", "report_on"], name="school_report_div_day")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(after_school__lte=models.F("schools"))
                & models.Q(homework_ok__lte=models.F("schools")),
                name="school_report_within_total",
            )
        ]

    def __str__(self) -> str:
        return f"{self.division_code} {self.report_on}"


class NoticeSeries(models.Model):  # noqa: DJ008 - bookkeeping
    """A county's numbering of its weekly notices, one row per year; locked while a
    notice is issued, so that two runs never issue the same week or the same number."""

    division_code = models.CharField(max_length=12)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["division_code", "year"], name="notice_series_unique")]


class RankingNotice(models.Model):
    """每周一通报: one county's ranking of its townships and departments on every
    indicator for one week (Monday ``week_start``), with the change on the week before;
    issued once as an official .docx (kept in the file store, with its SHA-256)."""

    scope = ScopePaths(division="division_code")

    division_code = models.CharField(_("区划"), max_length=12)
    week_start = models.DateField(_("通报周"))
    number = models.CharField(_("文号"), max_length=64)
    issued_on = models.DateField(_("印发日期"))
    issued_at = models.DateTimeField(auto_now_add=True)
    issued_by_id = models.BigIntegerField(null=True)  # None: the Monday job
    data = models.JSONField(_("排名"), default=dict)
    file = models.CharField(max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("每周通报")
        ordering = ["-week_start", "division_code"]
        constraints = [
            models.UniqueConstraint(fields=["division_code", "week_start"], name="ranking_notice_week_unique")
        ]

    def __str__(self) -> str:
        return self.number


class Reminder(models.Model):
    """督办提醒 to a unit below target in a notice: a township (``division_code`` of the
    township) or a department of the county (``department_kind``). Acknowledged once
    (签收); its follow-up (整改落实情况) is recorded after."""

    scope = ScopePaths(division="division_code", department="department_kind")

    notice = models.ForeignKey(RankingNotice, on_delete=models.CASCADE, related_name="reminders")
    division_code = models.CharField(_("区划"), max_length=12)
    department_kind = models.CharField(_("部门"), max_length=32, blank=True)
    unit_name = models.CharField(_("单位"), max_length=200)
    lagging = models.JSONField(_("落后指标"), default=list)
    acknowledged_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    acknowledged_by_id = models.BigIntegerField(null=True, blank=True)
    follow_up = models.TextField(_("整改落实情况"), blank=True)
    followed_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("督办提醒")
        ordering = ["notice_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["notice", "division_code", "department_kind"], name="reminder_unit_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.unit_name} {self.notice.number}"


class DailyReport(models.Model):
    """信息日报 of one unit for one day: a township (``department_kind`` "") or a
    department of the county. ``figures`` are filled in by the platform at submission
    (inspections, institutions checked, unlicensed found and closed, clues received and
    closed, risk events); the text is what only people know."""

    scope = ScopePaths(division="division_code", department="department_kind")

    division_code = models.CharField(_("区划"), max_length=12)
    department_kind = models.CharField(_("部门"), max_length=32, blank=True)
    unit_name = models.CharField(_("单位"), max_length=200)
    report_on = models.DateField(_("日报日期"))
    figures = models.JSONField(_("平台数据"), default=dict)
    notable_events = models.TextField(_("重要事项"), blank=True)
    measures = models.TextField(_("工作措施"), blank=True)
    problems = models.TextField(_("需协调解决的问题"), blank=True)
    submitted_at = models.DateTimeField(_("报送时间"))
    submitted_by_id = models.BigIntegerField(null=True)

    class Meta:
        verbose_name = verbose_name_plural = _("信息日报")
        ordering = ["-report_on", "division_code", "department_kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["division_code", "department_kind", "report_on"], name="daily_report_unit_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.unit_name} {self.report_on}"


class Dispatch(models.Model):
    """调度意见: the leader's instruction back to named units, on a day's reports."""

    scope = ScopePaths(division="division_code")

    division_code = models.CharField(_("区划"), max_length=12)  # the county
    report_on = models.DateField(_("日报日期"))
    text = models.TextField(_("调度意见"))
    issued_by_id = models.BigIntegerField(null=True)
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("调度意见")
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"{self.division_code} {self.report_on}"


class DispatchTarget(models.Model):
    """One unit a dispatch note is addressed to, and its acknowledgement (once)."""

    scope = ScopePaths(division="division_code", department="department_kind")

    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="targets")
    division_code = models.CharField(_("区划"), max_length=12)
    department_kind = models.CharField(_("部门"), max_length=32, blank=True)
    unit_name = models.CharField(_("单位"), max_length=200)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["dispatch_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dispatch", "division_code", "department_kind"], name="dispatch_target_unit"
            )
        ]

    def __str__(self) -> str:
        return self.unit_name


# --- 工作台账 and 督查反馈问题清单 ------------------------------------------------------------


class WorkTaskCadence(models.TextChoices):
    STANDING = "standing", _("长期坚持")
    WEEKLY = "weekly", _("每周")
    MONTHLY = "monthly", _("每月")
    STAGED = "staged", _("阶段性")


class WorkTaskStatus(models.TextChoices):
    ONGOING = "ongoing", _("推进中")
    DONE = "done", _("已完成")


class WorkTask(models.Model):
    """工作台账: one of the task force's standing tasks, assigned to a department of the
    county, with its lead leader, cadence, deadline (none for a standing task) and the
    progress the department reports (``WorkTaskNote``)."""

    scope = ScopePaths(division="division_code", department="department_kind")

    division_code = models.CharField(_("区划"), max_length=12)  # the county
    department_kind = models.CharField(_("责任部门"), max_length=32)
    title = models.CharField(_("工作任务"), max_length=200)
    requirement = models.TextField(_("工作要求"), blank=True)
    lead_leader = models.CharField(_("牵头领导"), max_length=50, blank=True)
    cadence = models.CharField(
        _("推进频次"), max_length=16, choices=WorkTaskCadence.choices, default=WorkTaskCadence.STANDING
    )
    due_on = models.DateField(_("完成时限"), null=True, blank=True)
    progress = models.PositiveSmallIntegerField(_("完成进度(%)"), default=0)
    status = models.CharField(
        _("状态"), max_length=16, choices=WorkTaskStatus.choices, default=WorkTaskStatus.ONGOING
    )
    last_progress_at = models.DateTimeField(_("最近报送"), null=True, blank=True)
    reminded_on = models.DateField(_("逾期提醒日期"), null=True, blank=True)
    escalated_on = models.DateField(_("逾期上报日期"), null=True, blank=True)
    created_by_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = _("工作台账")
        ordering = ["division_code", "department_kind", "id"]
        indexes = [models.Index(fields=["division_code", "status"], name="work_task_div_status")]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="work_task_progress")
        ]

    def __str__(self) -> str:
        return self.title


class WorkTaskNote(models.Model):
    """A progress report on a work task: what was done, the progress it brings the task to."""

    task = models.ForeignKey(WorkTask, on_delete=models.PROTECT, related_name="notes")
    text = models.TextField(_("推进情况"))
    progress = models.PositiveSmallIntegerField(_("完成进度(%)"))
    author_id = models.BigIntegerField(null=True)
    author_name = models.CharField(_("报送人"), max_length=100, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.task_id} {self.progress}%"


class ProblemSource(models.TextChoices):
    SUPERIOR = "superior", _("上级督查反馈")
    TASK_FORCE = "task_force", _("专班自查")


class ProblemStatus(models.TextChoices):
    OPEN = "open", _("整改中")
    SUBMITTED = "submitted", _("待销号审核")
    CLOSED = "closed", _("已销号")


class SupervisionProblem(models.Model):
    """督查反馈问题: a problem fed back by supervision (a superior level's list, or the task
    force's own check) with its lead leader, responsible department, deadline and
    measures; the department reports progress, applies for close-out (销号) with evidence,
    and the task force closes it or sends it back. Overdue problems are reminded to the
    department and then escalated to the task force's leaders (the daily job)."""

    scope = ScopePaths(division="division_code", department="department_kind")

    division_code = models.CharField(_("区划"), max_length=12)  # the county
    department_kind = models.CharField(_("责任部门"), max_length=32)
    source = models.CharField(_("问题来源"), max_length=16, choices=ProblemSource.choices)
    source_ref = models.CharField(_("问题清单"), max_length=200)
    number = models.CharField(_("序号"), max_length=32, blank=True)
    description = models.TextField(_("问题描述"))
    lead_leader = models.CharField(_("牵头领导"), max_length=50)
    measures = models.TextField(_("整改措施"), blank=True)
    deadline = models.DateField(_("整改时限"))
    status = models.CharField(
        _("状态"), max_length=16, choices=ProblemStatus.choices, default=ProblemStatus.OPEN
    )
    closed_on = models.DateField(_("销号日期"), null=True, blank=True)
    close_summary = models.TextField(_("整改情况"), blank=True)
    reminded_on = models.DateField(_("逾期提醒日期"), null=True, blank=True)
    escalated_on = models.DateField(_("逾期上报日期"), null=True, blank=True)
    created_by_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = _("督查反馈问题")
        ordering = ["division_code", "deadline", "id"]
        indexes = [models.Index(fields=["division_code", "status", "deadline"], name="problem_div_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["division_code", "source_ref", "number"],
                condition=~models.Q(number=""),
                name="problem_list_number_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_ref} {self.number}".strip()


class SupervisionProblemTransition(TransitionRow):
    problem = models.ForeignKey(SupervisionProblem, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=32, choices=ProblemStatus.choices)
    to_status = models.CharField(max_length=32, choices=ProblemStatus.choices)


PROBLEM_TRANSITIONS = {
    ProblemStatus.OPEN: {ProblemStatus.SUBMITTED},
    ProblemStatus.SUBMITTED: {ProblemStatus.CLOSED, ProblemStatus.OPEN},  # 销号, or 退回
}
PROBLEM_STATES = StateMachine(
    "supervision_problem",
    ProblemStatus,
    PROBLEM_TRANSITIONS,
    model=SupervisionProblem,
    history=SupervisionProblemTransition,
    action="analytics.problem",
)


class ProblemNote(models.Model):
    """A progress note on a problem (整改进展), by the department or the task force."""

    problem = models.ForeignKey(SupervisionProblem, on_delete=models.PROTECT, related_name="notes")
    text = models.TextField(_("整改进展"))
    author_id = models.BigIntegerField(null=True)
    author_name = models.CharField(_("报送人"), max_length=100, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["problem_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.problem_id} {self.at:%Y-%m-%d}"


class ProblemEvidence(models.Model):
    """A close-out evidence file (type checked by content, kept in the file store by its
    SHA-256)."""

    problem = models.ForeignKey(SupervisionProblem, on_delete=models.PROTECT, related_name="evidence")
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    path = models.CharField(max_length=200)
    uploaded_by_id = models.BigIntegerField(null=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["problem_id", "id"]

    def __str__(self) -> str:
        return self.original_name
