"""Clues (线索): complaints from the public (投诉举报), hotline work orders, Open311
reports, grid workers' reports, covert visits (暗访) and online patrol (网上巡查) leads;
whistles (吹哨报到); weekly trends and rising-institution signals.

A ``Clue`` is the case a department handles; every submission about it is a
``ClueReport`` (dedupe merges reports into one case and keeps every reporter). Reporter
identity is stored encrypted on the report and shown only to the handling role."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import ScopePaths
from qinglang.core.models import Department, DepartmentKind, TransitionRow
from qinglang.core.states import StateMachine


class ClueCategory(models.TextChoices):
    DISGUISED_TRAINING = "disguised_training", _("隐形变异培训")
    UNLICENSED = "unlicensed", _("无证无照办学")
    REFUND_DIFFICULTY = "refund_difficulty", _("退费难")
    RUNAWAY = "runaway", _("卷款跑路")
    PRICE = "price", _("收费价格")
    FIRE_SAFETY = "fire_safety", _("消防安全")
    FOOD_SAFETY = "food_safety", _("食品安全")
    ADVERTISING = "advertising", _("违规广告")
    STAFF_CONDUCT = "staff_conduct", _("从业人员行为")
    BEYOND_SYLLABUS = "beyond_syllabus", _("超纲超前培训")
    ILLEGAL_COMPETITION = "illegal_competition", _("违规竞赛")
    OTHER = "other", _("其他")


class Channel(models.TextChoices):
    WEB = "web", _("网上举报")
    PARENT = "parent", _("家长端")
    HOTLINE = "hotline", _("热线工单")
    OPEN311 = "open311", _("接口(Open311)")
    GRID = "grid", _("网格员上报")
    COVERT_VISIT = "covert_visit", _("暗访")
    ONLINE_PATROL = "online_patrol", _("网上巡查")


class ClueStatus(models.TextChoices):
    RECEIVED = "received", _("待分办")
    ROUTED = "routed", _("待受理")
    ACCEPTED = "accepted", _("已受理")
    INVESTIGATING = "investigating", _("核查中")
    CONCLUDED = "concluded", _("已办结待反馈")
    CLOSED = "closed", _("已反馈")
    MERGED = "merged", _("已并案")  # its reports joined another case (clue_merge)


# The clue state machine: one service per arrow (services/handling.py).
TRANSITIONS: dict[str, set[str]] = {
    ClueStatus.RECEIVED: {ClueStatus.ROUTED, ClueStatus.MERGED},
    ClueStatus.ROUTED: {
        ClueStatus.ACCEPTED,
        ClueStatus.RECEIVED,
        ClueStatus.MERGED,
    },  # accept, or return for re-routing
    ClueStatus.ACCEPTED: {ClueStatus.INVESTIGATING, ClueStatus.CONCLUDED, ClueStatus.MERGED},
    ClueStatus.INVESTIGATING: {ClueStatus.CONCLUDED, ClueStatus.MERGED},
    ClueStatus.CONCLUDED: {ClueStatus.CLOSED},
    ClueStatus.CLOSED: {ClueStatus.ACCEPTED},  # the reporter reopens (once)
    ClueStatus.MERGED: set(),
}
MERGEABLE = [ClueStatus.RECEIVED, ClueStatus.ROUTED, ClueStatus.ACCEPTED, ClueStatus.INVESTIGATING]
OPEN_STATUSES = [ClueStatus.RECEIVED, ClueStatus.ROUTED, ClueStatus.ACCEPTED, ClueStatus.INVESTIGATING]
# What a reporter sees of the case on the tracking page.
PUBLIC_STAGE = {
    ClueStatus.RECEIVED: "已收到",
    ClueStatus.ROUTED: "已转交主管部门",
    ClueStatus.ACCEPTED: "已受理",
    ClueStatus.INVESTIGATING: "核查处理中",
    ClueStatus.CONCLUDED: "已办结",
    ClueStatus.CLOSED: "已办结并反馈",
    ClueStatus.MERGED: "已与同一问题的举报合并办理",
}


class CategorySource(models.TextChoices):
    RULE = "rule", _("规则")
    MODEL = "model", _("分类模型")
    REGULATOR = "regulator", _("人工更正")


class Clue(models.Model):
    """线索 (one case). ``routed_kinds`` lists the department kinds it is routed to
    (``|education|market_regulation|``) so that a department's officers see only theirs.
    No owner path: a reporter never reads the case (other reporters, their channels and
    times, the summary one of them wrote); they read their own ``ClueReport`` and its
    progress (``selectors.report_progress``)."""

    scope = ScopePaths(division="division_code", department="routed_kinds__contains")

    # Indexes are few on purpose (a hotline file inserts ~30,000 cases at once): no LIKE
    # twins for exact lookups, none on routed_kinds (a "contains" search no btree serves),
    # the institution's FK index is the dedupe index.
    reference = models.CharField(_("编号"), max_length=20)
    division_code = models.CharField(_("所属区划"), max_length=12)
    institution = models.ForeignKey(
        "registry.Institution",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="clues",
        db_index=False,
    )
    match_method = models.CharField(_("匹配方式"), max_length=16, blank=True)  # uscc / fuzzy / ""
    match_score = models.FloatField(null=True, blank=True)
    operator_name = models.CharField(_("被举报对象"), max_length=200, blank=True)
    operator_address = models.CharField(_("地址"), max_length=255, blank=True)
    operator_key = models.CharField(max_length=200, blank=True)  # normalised name, for dedupe
    suspected_unlicensed = models.BooleanField(_("疑似无证经营"), default=False)
    category = models.CharField(_("问题类别"), max_length=24, choices=ClueCategory.choices)
    category_source = models.CharField(max_length=12, choices=CategorySource.choices)
    category_confidence = models.FloatField(_("分类置信度"), null=True, blank=True)
    needs_triage = models.BooleanField(_("待人工分类"), default=False)  # confidence below the policy floor
    # the policy key that sent it to the manual queue (clue.triage_confidence), "" when none did
    triage_rule = models.CharField(_("分类依据规则"), max_length=40, blank=True, default="")
    summary = models.TextField(_("问题描述"))
    first_channel = models.CharField(_("来源"), max_length=16, choices=Channel.choices)
    status = models.CharField(
        _("状态"), max_length=16, choices=ClueStatus.choices, default=ClueStatus.RECEIVED
    )
    routed_kinds = models.CharField(max_length=200, blank=True)
    report_count = models.PositiveIntegerField(_("举报次数"), default=1)
    received_at = models.DateTimeField(_("收到时间"))
    last_reported_at = models.DateTimeField()
    acknowledge_due = models.DateField(_("受理时限"), null=True, blank=True)
    resolve_due = models.DateField(_("办结时限"), null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    concluded_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("督办层级"), default=0)  # 1 leader, 2 task force
    finding = models.TextField(_("办理结果"), blank=True)
    substantiated = models.BooleanField(_("查证属实"), null=True, blank=True)
    feedback = models.TextField(_("反馈内容"), blank=True)
    reopened = models.BooleanField(_("已重新办理"), default=False)
    inspection_task_id = models.BigIntegerField(null=True, blank=True)
    import_batch = models.ForeignKey("ClueImport", null=True, blank=True, on_delete=models.SET_NULL)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("线索")
        verbose_name_plural = _("线索")
        indexes = [
            models.Index(fields=["division_code", "status", "received_at"], name="clue_div_status_idx"),
            models.Index(fields=["institution", "category", "last_reported_at"], name="clue_dedupe_idx"),
            # division_code__startswith (scope) is LIKE 'prefix%': pattern ops on PostgreSQL
            models.Index(
                fields=["division_code"], name="clue_div_prefix_idx", opclasses=["varchar_pattern_ops"]
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["reference"], name="clue_reference_unique"),
            models.CheckConstraint(condition=Q(status__in=ClueStatus.values), name="clue_status_valid"),
            models.CheckConstraint(
                condition=Q(escalation_level__gte=0, escalation_level__lte=2), name="clue_escalation_range"
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def routed_kind_list(self) -> list[str]:
        return [k for k in self.routed_kinds.split("|") if k]

    @property
    def public_stage(self) -> str:
        return PUBLIC_STAGE[self.status]


class ClueReport(models.Model):
    """One submission (举报) merged into a case. Reporter name and phone are encrypted;
    ``tracking_code`` is the reporter's secret for following progress."""

    scope = ScopePaths(
        division="clue__division_code", department="clue__routed_kinds__contains", owner="submitted_by_id"
    )

    clue = models.ForeignKey(Clue, on_delete=models.CASCADE, related_name="reports")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    source_ref = models.CharField(_("来源编号"), max_length=64, blank=True)  # hotline work order no., …
    category = models.CharField(_("本次分类"), max_length=24, blank=True)  # this report's own category
    similarity = models.FloatField(_("与线索相似度"), null=True, blank=True)  # when merged into the case
    tracking_code = models.CharField(max_length=16)
    content = models.TextField(_("举报内容"))
    institution_name = models.CharField(max_length=200, blank=True)
    uscc = models.CharField(max_length=18, blank=True)
    address = models.CharField(max_length=255, blank=True)
    division_code = models.CharField(max_length=12)
    anonymous = models.BooleanField(default=False)
    # {"name": …, "phone": …} encrypted as one token (one Fernet operation per report)
    reporter_enc = models.TextField(blank=True)
    reporter_phone_index = models.CharField(max_length=64, blank=True)
    submitted_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="clue_reports"
    )
    open311_token = models.CharField(max_length=32, blank=True)
    url = models.CharField(_("网址"), max_length=500, blank=True)
    received_at = models.DateTimeField()
    satisfaction = models.PositiveSmallIntegerField(_("满意度"), null=True, blank=True)
    satisfaction_comment = models.TextField(blank=True)
    reopen_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["received_at", "id"]
        verbose_name = _("举报记录")
        verbose_name_plural = _("举报记录")
        indexes = [  # partial: most reports are anonymous or come from other channels
            models.Index(
                fields=["reporter_phone_index"],
                condition=~Q(reporter_phone_index=""),
                name="clue_report_phone_idx",
            ),
            models.Index(
                fields=["open311_token"], condition=~Q(open311_token=""), name="clue_report_token_idx"
            ),
            # a county reconciles with its 12345 system by the work-order number
            models.Index(fields=["source_ref"], condition=~Q(source_ref=""), name="clue_report_source_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["tracking_code"], name="clue_report_tracking_unique"),
            # a work-order number is imported once; Open311 reports carry their case's id
            # (the service_request_id), which every report merged into that case shares
            models.UniqueConstraint(
                fields=["channel", "source_ref"],
                condition=~Q(source_ref="") & ~Q(channel="open311"),
                name="clue_report_unique_source",
            ),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="clue_report_satisfaction_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{type(self).__name__} #{self.pk}"

    def reporter(self) -> dict[str, str]:
        """Name and phone in clear: callers are the audited reveal and masking only."""
        import json

        from qinglang.core.crypto import decrypt

        return json.loads(decrypt(self.reporter_enc)) if self.reporter_enc else {"name": "", "phone": ""}


class CluePhoto(models.Model):
    """A photo attached to a report: checked by its magic bytes, stored under MEDIA_ROOT."""

    report = models.ForeignKey(ClueReport, on_delete=models.CASCADE, related_name="photos")
    path = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    content_type = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"{type(self).__name__} #{self.pk}"


class ClueTransition(TransitionRow):
    """Insert-only status change of a clue."""

    clue = models.ForeignKey(Clue, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=ClueStatus.choices)
    to_status = models.CharField(max_length=16, choices=ClueStatus.choices)


CLUE_STATES = StateMachine("clue", ClueStatus, TRANSITIONS, model=Clue, history=ClueTransition, action="clue")


class RoutingAction(models.TextChoices):
    ASSIGN = "assign", _("分办")
    TRANSFER = "transfer", _("转办")
    RETURN = "return", _("退回")


class ClueRouting(models.Model):
    """Insert-only record of routing: assignment to a department, transfer, return."""

    clue = models.ForeignKey(Clue, on_delete=models.CASCADE, related_name="routings")
    action = models.CharField(max_length=12, choices=RoutingAction.choices)
    department = models.ForeignKey(Department, null=True, on_delete=models.PROTECT, related_name="+")
    department_kind = models.CharField(max_length=32, choices=DepartmentKind.choices, blank=True)
    lead = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    rule = models.CharField(
        _("依据规则"), max_length=40, blank=True, default=""
    )  # policy key, automatic routing
    actor_id = models.BigIntegerField(null=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{type(self).__name__} #{self.pk}"


class ClueEscalation(models.Model):
    """督办: an overdue clue raised to the department leader (1) or the task force (2)."""

    clue = models.ForeignKey(Clue, on_delete=models.CASCADE, related_name="escalations")
    level = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=200)
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clue", "level", "reason"], name="clue_escalation_once")
        ]

    def __str__(self) -> str:
        return f"{type(self).__name__} #{self.pk}"


class ClueLabel(models.Model):
    """A labelled example for the classifier: a regulator's correction (the shipped
    examples live in data/labelled.tsv)."""

    text = models.TextField()
    category = models.CharField(max_length=24, choices=ClueCategory.choices)
    clue = models.ForeignKey(Clue, null=True, on_delete=models.SET_NULL, related_name="labels")
    actor_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{type(self).__name__} #{self.pk}"


class ClueImport(models.Model):
    """One hotline .xlsx file imported in one transaction."""

    scope = ScopePaths(division="division_code")

    division_code = models.CharField(max_length=12)
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    merged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list)
    # department rows the routing needed and did not find: [{division_code, kind, clues}]
    missing_departments = models.JSONField(default=list)
    actor_id = models.BigIntegerField(null=True)
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{type(self).__name__} #{self.pk}"


class WhistleStatus(models.TextChoices):
    OPEN = "open", _("办理中")
    CLOSED = "closed", _("已办结")


class Whistle(models.Model):
    """吹哨报到: a township raises a problem and names departments that must report."""

    scope = ScopePaths(division="division_code")

    division_code = models.CharField(_("乡镇(街道)"), max_length=12, db_index=True)
    title = models.CharField(_("事项"), max_length=200)
    problem = models.TextField(_("问题"))
    institution = models.ForeignKey(
        "registry.Institution", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    clue = models.ForeignKey(Clue, null=True, blank=True, on_delete=models.SET_NULL, related_name="whistles")
    status = models.CharField(max_length=8, choices=WhistleStatus.choices, default=WhistleStatus.OPEN)
    raised_by_id = models.BigIntegerField(null=True)
    raised_at = models.DateTimeField()
    due_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]

    def __str__(self) -> str:
        return f"{type(self).__name__} #{self.pk}"


class WhistleDepartment(models.Model):
    """A department named in a whistle: it must report (报到) by ``due_at``."""

    whistle = models.ForeignKey(Whistle, on_delete=models.CASCADE, related_name="departments")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    department_kind = models.CharField(max_length=32, choices=DepartmentKind.choices)
    reported_at = models.DateTimeField(null=True, blank=True)
    action = models.TextField(_("采取的措施"), blank=True)
    reported_by_id = models.BigIntegerField(null=True)
    late_notified_at = models.DateTimeField(null=True, blank=True)  # the lateness notice, sent once

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["whistle", "department"], name="whistle_department_once")
        ]

    def __str__(self) -> str:
        return f"{type(self).__name__} #{self.pk}"


class Dimension(models.TextChoices):
    CATEGORY = "category", _("问题类别")
    AREA = "area", _("区县")
    INSTITUTION = "institution", _("机构")


class ClueTrend(models.Model):
    """Weekly count of clues by category, area (county) or institution, with the count of
    the week before (趋势)."""

    scope = ScopePaths(division="division_code")

    week_start = models.DateField()
    dimension = models.CharField(max_length=12, choices=Dimension.choices)
    key = models.CharField(max_length=64)
    division_code = models.CharField(max_length=12)  # the county the row counts
    count = models.PositiveIntegerField()
    previous = models.PositiveIntegerField()

    class Meta:
        ordering = ["-week_start", "dimension", "-count"]
        constraints = [
            models.UniqueConstraint(
                fields=["week_start", "dimension", "key", "division_code"], name="clue_trend_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{type(self).__name__} #{self.pk}"

    @property
    def change(self) -> int:
        return self.count - self.previous


class InstitutionSignal(models.Model):
    """An institution whose weekly clue count is rising: kept for the risk module."""

    scope = ScopePaths(division="institution__division_code")

    institution = models.ForeignKey("registry.Institution", on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField()
    count = models.PositiveIntegerField()
    previous = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["institution", "week_start"], name="institution_signal_once")
        ]

    def __str__(self) -> str:
        return f"{type(self).__name__} #{self.pk}"


class CaseChangeKind(models.TextChoices):
    MERGE = "merge", _("并案")
    SPLIT = "split", _("拆分")
    RECLASSIFY = "reclassify", _("重新分类")


class CaseChange(models.Model):
    """Insert-only record of a handler's merge or split (and of a re-triage's applied
    changes): which case, which other case, which reports moved, the similarity the
    handler saw and the reason given."""

    scope = ScopePaths(division="division_code")

    kind = models.CharField(_("变更"), max_length=12, choices=CaseChangeKind.choices)
    clue = models.ForeignKey(Clue, on_delete=models.PROTECT, related_name="changes")
    other = models.ForeignKey(Clue, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    division_code = models.CharField(max_length=12)
    report_ids = models.JSONField(default=list)
    similarity = models.FloatField(null=True, blank=True)
    before = models.CharField(max_length=24, blank=True)
    after = models.CharField(max_length=24, blank=True)
    reason = models.TextField(_("理由"))
    actor_id = models.BigIntegerField(null=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{type(self).__name__} #{self.pk}"


class RetriageStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("计算中")
    PROPOSED = "proposed", _("待确认")
    APPLIED = "applied", _("已应用")
    FAILED = "failed", _("失败")


class RetriageRun(models.Model):
    """重新研判: classification and duplicate suggestions re-run over the open clues of an
    area. ``proposals`` lists the changes (category old → new, merges with similarity);
    nothing changes until a regulator applies them."""

    scope = ScopePaths(division="division_code")

    division_code = models.CharField(_("区域"), max_length=12)
    status = models.CharField(max_length=12, choices=RetriageStatus.choices, default=RetriageStatus.QUEUED)
    clues = models.PositiveIntegerField(default=0)
    proposals = models.JSONField(default=list)
    applied = models.JSONField(default=list)
    error = models.TextField(blank=True)
    actor_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{type(self).__name__} #{self.pk}"
