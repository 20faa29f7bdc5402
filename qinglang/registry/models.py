"""The registry of training institutions (校外培训机构): licences, sites, staff, courses,
training materials and the public white and black lists."""

from django.db import models
from django.db.models import Q

from qinglang.accounts.scope import ScopePaths
from qinglang.core.models import Department, TransitionRow
from qinglang.core.states import StateMachine


class InstitutionCategory(models.TextChoices):
    SUBJECT = "subject", "学科类"
    NON_SUBJECT = "non_subject", "非学科类"
    MEAL_CARE = "meal_care", "托管(小饭桌)"


class Kind(models.TextChoices):
    SUBJECT = "subject", "学科类"
    SPORTS = "sports", "体育类"
    ARTS = "arts", "文化艺术类"
    SCIENCE_TECH = "science_tech", "科技类"
    PRACTICE = "practice", "综合实践类"
    MEAL_CARE = "meal_care", "托管(小饭桌)"


CATEGORY_KINDS = {
    InstitutionCategory.SUBJECT: {Kind.SUBJECT},
    InstitutionCategory.NON_SUBJECT: {Kind.SPORTS, Kind.ARTS, Kind.SCIENCE_TECH, Kind.PRACTICE},
    InstitutionCategory.MEAL_CARE: {Kind.MEAL_CARE},
}


class Stage(models.TextChoices):
    PRESCHOOL = "preschool", "学龄前"
    PRIMARY = "primary", "小学"
    JUNIOR = "junior", "初中"
    SENIOR = "senior", "高中"


class Mode(models.TextChoices):
    OFFLINE = "offline", "线下"
    ONLINE = "online", "线上"


class Nature(models.TextChoices):
    FOR_PROFIT = "for_profit", "营利性"
    NON_PROFIT = "non_profit", "非营利性"


class NonprofitConversion(models.TextChoices):
    NOT_APPLICABLE = "not_applicable", "不适用"
    PENDING = "pending", "待转"
    COMPLETED = "completed", "已完成营转非"


class LicenceStatus(models.TextChoices):
    FULLY_LICENSED = "fully_licensed", "证照齐全"
    PERMIT_ONLY = "permit_only", "有证无照"
    LICENSE_ONLY = "license_only", "有照无证"
    UNLICENSED = "unlicensed", "无证无照"


class InstitutionStatus(models.TextChoices):
    ACTIVE = "active", "正常办学"
    SUSPENDED = "suspended", "停业整顿"
    STOP_ENROLLMENT = "stop_enrollment", "停止招生"
    CLOSED = "closed", "已关停"
    BANNED = "banned", "已取缔"
    RUNAWAY = "runaway", "卷款跑路"


# Institution status state machine (one service per transition; see services.STATUS_TRANSITIONS).
STATUS_TRANSITIONS: dict[str, set[str]] = {
    InstitutionStatus.ACTIVE: {
        InstitutionStatus.SUSPENDED,
        InstitutionStatus.STOP_ENROLLMENT,
        InstitutionStatus.CLOSED,
        InstitutionStatus.BANNED,
        InstitutionStatus.RUNAWAY,
    },
    InstitutionStatus.SUSPENDED: {
        InstitutionStatus.ACTIVE,
        InstitutionStatus.CLOSED,
        InstitutionStatus.BANNED,
        InstitutionStatus.RUNAWAY,
    },
    InstitutionStatus.STOP_ENROLLMENT: {
        InstitutionStatus.ACTIVE,
        InstitutionStatus.SUSPENDED,
        InstitutionStatus.CLOSED,
        InstitutionStatus.BANNED,
        InstitutionStatus.RUNAWAY,
    },
    InstitutionStatus.CLOSED: set(),
    InstitutionStatus.BANNED: set(),
    InstitutionStatus.RUNAWAY: {InstitutionStatus.CLOSED},
}


class Institution(models.Model):
    """校外培训机构. ``division_code`` is where it is registered (county or finer); the
    competent department (主管部门) follows from category by the who-supervises rule."""

    scope = ScopePaths(division="division_code", institution="id", department="competent_department__kind")

    name = models.CharField("机构名称", max_length=200)
    registered_name = models.CharField("登记名称", max_length=200, blank=True)
    uscc = models.CharField("统一社会信用代码", max_length=18, null=True, blank=True)
    legal_representative = models.CharField("法定代表人", max_length=64, blank=True)
    contact_name = models.CharField("联系人", max_length=64, blank=True)
    contact_phone = models.CharField("联系电话", max_length=20, blank=True)
    category = models.CharField("类别", max_length=16, choices=InstitutionCategory.choices)
    kind = models.CharField("培训类型", max_length=16, choices=Kind.choices)
    stages = models.CharField("学段", max_length=64, blank=True, help_text="逗号分隔")
    mode = models.CharField("办学形式", max_length=8, choices=Mode.choices, default=Mode.OFFLINE)
    nature = models.CharField("性质", max_length=16, choices=Nature.choices, default=Nature.FOR_PROFIT)
    nonprofit_conversion = models.CharField(
        "营转非",
        max_length=16,
        choices=NonprofitConversion.choices,
        default=NonprofitConversion.NOT_APPLICABLE,
    )
    division_code = models.CharField("所属区划", max_length=12)
    address = models.CharField("地址", max_length=255, blank=True)
    competent_department = models.ForeignKey(
        Department,
        verbose_name="主管部门",
        on_delete=models.PROTECT,
        related_name="institutions",
        null=True,
        blank=True,
    )
    competent_department_overridden = models.BooleanField("主管部门由审批部门指定", default=False)
    licence_status = models.CharField(
        "证照状态", max_length=16, choices=LicenceStatus.choices, default=LicenceStatus.UNLICENSED
    )
    status = models.CharField(
        "办学状态", max_length=16, choices=InstitutionStatus.choices, default=InstitutionStatus.ACTIVE
    )
    whitelisted = models.BooleanField("白名单", default=False)
    blacklisted = models.BooleanField("黑名单", default=False)
    party_organisation = models.BooleanField("党组织覆盖", default=False)
    party_charter_clause = models.BooleanField("党建入章", default=False)
    founded_on = models.DateField("成立日期", null=True, blank=True)
    # character bigrams of the names and the credit code (registry.search), kept by save()
    search_text = models.TextField(blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "培训机构"
        verbose_name_plural = "培训机构"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["uscc"], condition=Q(uscc__isnull=False), name="institution_unique_uscc"
            ),
            models.CheckConstraint(
                condition=~Q(whitelisted=True, blacklisted=True),
                name="institution_not_white_and_black",
            ),
            models.CheckConstraint(
                condition=~Q(whitelisted=True) | Q(licence_status="fully_licensed", status="active"),
                name="institution_whitelist_needs_licences_and_active",
            ),
        ]
        indexes = [
            models.Index(fields=["division_code", "id"], name="inst_div_id_idx"),
            models.Index(
                fields=["division_code", "category", "status", "id"], name="inst_div_cat_status_idx"
            ),
            models.Index(fields=["whitelisted", "division_code", "id"], name="inst_white_div_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        from .search import search_text_for

        self.search_text = search_text_for(self.name, self.registered_name, self.uscc)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"name", "registered_name", "uscc"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "search_text"}
        super().save(*args, **kwargs)

    @property
    def stage_list(self) -> list[str]:
        return [s for s in self.stages.split(",") if s]

    @property
    def stage_labels(self) -> str:
        labels = dict(Stage.choices)
        return "、".join(str(labels.get(s, s)) for s in self.stage_list)

    @property
    def county_code(self) -> str:
        return self.division_code[:6]


class LicenceKind(models.TextChoices):
    SCHOOL_PERMIT = "school_permit", "办学许可证"
    BUSINESS_LICENSE = "business_license", "营业执照"
    NONPROFIT_REGISTRATION = "nonprofit_registration", "民办非企业单位登记证书"
    FIRE_ACCEPTANCE = "fire_acceptance", "消防验收(备案)"
    FOOD_LICENCE = "food_licence", "食品经营许可证"


class Licence(models.Model):
    """A licence or certificate an institution holds, with its validity."""

    scope = ScopePaths(
        division="institution__division_code",
        institution="institution_id",
        department="institution__competent_department__kind",
    )

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="licences")
    kind = models.CharField("证照类型", max_length=32, choices=LicenceKind.choices)
    number = models.CharField("证号", max_length=64)
    issuer = models.CharField("发证机关", max_length=100, blank=True)
    valid_from = models.DateField("有效期起", null=True, blank=True)
    valid_until = models.DateField("有效期至", null=True, blank=True)
    revoked = models.BooleanField("已吊销/注销", default=False)
    # 经营范围 (营业执照) / 业务范围 (民办非企业单位登记证书), as printed on the licence: a
    # non-subject institution's scope is screened for disguised subject training
    business_scope = models.TextField("经营范围", blank=True, default="")

    class Meta:
        verbose_name = "证照"
        verbose_name_plural = "证照"
        constraints = [
            models.UniqueConstraint(fields=["institution", "kind"], name="licence_one_per_kind"),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_until__gte=models.F("valid_from")),
                name="licence_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    def is_valid_on(self, day) -> bool:
        return (
            not self.revoked
            and (self.valid_until is None or self.valid_until >= day)
            and (self.valid_from is None or self.valid_from <= day)
        )


class InstitutionTransition(TransitionRow):
    """Insert-only record of each institution status transition."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=InstitutionStatus.choices)
    to_status = models.CharField(max_length=16, choices=InstitutionStatus.choices)

    class Meta(TransitionRow.Meta):
        ordering = ["-at", "-id"]


INSTITUTION_STATES = StateMachine(
    "institution",
    InstitutionStatus,
    STATUS_TRANSITIONS,
    model=Institution,
    history=InstitutionTransition,
    action="institution",
)


class ListKind(models.TextChoices):
    WHITE = "white", "白名单"
    BLACK = "black", "黑名单"


class ListEntry(models.Model):
    """An entry on the public white or black list: why, when, who decided; removal is
    recorded on the same row (never deleted)."""

    scope = ScopePaths(division="institution__division_code", institution="institution_id")

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="list_entries")
    list_kind = models.CharField("名单", max_length=8, choices=ListKind.choices)
    reason = models.TextField("理由")
    decided_on = models.DateField("决定日期")
    decided_by_id = models.BigIntegerField(null=True)
    decided_by_label = models.CharField("决定人", max_length=150, blank=True)
    removed_on = models.DateField("移出日期", null=True, blank=True)
    removed_reason = models.TextField("移出理由", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "名单记录"
        verbose_name_plural = "名单记录"
        ordering = ["-decided_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "list_kind"],
                condition=Q(removed_on__isnull=True),
                name="listentry_one_open_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_list_kind_display()}: {self.institution_id}"


class Site(models.Model):
    """A training site (教学点) of an institution, located to township or community."""

    scope = ScopePaths(
        division="division_code",
        institution="institution_id",
        department="institution__competent_department__kind",
    )

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField("场所名称", max_length=200)
    address = models.CharField("地址", max_length=255)
    division_code = models.CharField("所属区划", max_length=12)
    area_sqm = models.PositiveIntegerField("面积(平方米)", null=True, blank=True)
    is_primary = models.BooleanField("主场所", default=False)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "培训场所"
        verbose_name_plural = "培训场所"
        ordering = ["institution_id", "-is_primary", "id"]
        indexes = [models.Index(fields=["division_code"], name="site_div_idx")]

    def __str__(self) -> str:
        return self.name


class StaffRole(models.TextChoices):
    TEACHER = "teacher", "教师"
    MANAGER = "manager", "管理人员"
    OTHER = "other", "其他从业人员"


class Staff(models.Model):
    """从业人员. The resident ID number is stored encrypted (with a keyed digest for
    duplicates) and shown masked except to roles that need it."""

    scope = ScopePaths(
        division="institution__division_code",
        institution="institution_id",
        department="institution__competent_department__kind",
    )

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="staff")
    name = models.CharField("姓名", max_length=64)
    resident_id_encrypted = models.TextField(blank=True)
    resident_id_digest = models.CharField(max_length=64, blank=True, db_index=True)
    resident_id_masked = models.CharField("身份证号(脱敏)", max_length=18, blank=True)
    role = models.CharField("岗位", max_length=16, choices=StaffRole.choices, default=StaffRole.TEACHER)
    teaches_subject = models.BooleanField("从事学科类教学", default=False)
    subjects = models.CharField("任教科目", max_length=100, blank=True)
    teacher_qualification_no = models.CharField("教师资格证号", max_length=32, blank=True)
    background_check_on = models.DateField("无犯罪记录查询日期", null=True, blank=True)
    hired_on = models.DateField("入职日期", null=True, blank=True)
    left_on = models.DateField("离职日期", null=True, blank=True)

    class Meta:
        verbose_name = "从业人员"
        verbose_name_plural = "从业人员"
        ordering = ["institution_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "resident_id_digest"],
                condition=~Q(resident_id_digest=""),
                name="staff_unique_person_per_institution",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def lacks_qualification(self) -> bool:
        """学科类教师无教师资格证: flagged on lists and the detail page."""
        return self.teaches_subject and not self.teacher_qualification_no


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "待审核"
    APPROVED = "approved", "已核准"
    REJECTED = "rejected", "未核准"


class Course(models.Model):
    """A course on offer, with its price (integer fen per lesson)."""

    scope = ScopePaths(
        division="institution__division_code",
        institution="institution_id",
        department="institution__competent_department__kind",
    )

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="courses")
    name = models.CharField("课程名称", max_length=200)
    kind = models.CharField("培训类型", max_length=16, choices=Kind.choices)
    stage = models.CharField("学段", max_length=16, choices=Stage.choices)
    lessons = models.PositiveIntegerField("课时数")
    lesson_minutes = models.PositiveIntegerField("每课时分钟", default=45)
    unit_price_fen = models.BigIntegerField("课时单价(分)")
    class_size = models.PositiveIntegerField("班额", null=True, blank=True)
    description = models.TextField("课程介绍", blank=True)
    approval_status = models.CharField(
        "审核状态", max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "课程"
        verbose_name_plural = "课程"
        ordering = ["institution_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_price_fen__gte=0), name="course_price_not_negative"),
            models.CheckConstraint(condition=Q(lessons__gte=1), name="course_has_lessons"),
        ]

    def __str__(self) -> str:
        return self.name


class MaterialStatus(models.TextChoices):
    SUBMITTED = "submitted", "待审核"
    APPROVED = "approved", "审核通过"
    REJECTED = "rejected", "审核不通过"


MATERIAL_TRANSITIONS = {
    MaterialStatus.SUBMITTED: {MaterialStatus.APPROVED, MaterialStatus.REJECTED},
    MaterialStatus.REJECTED: {MaterialStatus.SUBMITTED},
    MaterialStatus.APPROVED: set(),
}


class TrainingMaterial(models.Model):
    """培训材料, reviewed before use (submitted → approved / rejected with reason)."""

    scope = ScopePaths(
        division="institution__division_code",
        institution="institution_id",
        department="institution__competent_department__kind",
    )

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="materials")
    course = models.ForeignKey(
        Course,
        verbose_name="所用课程",
        on_delete=models.SET_NULL,
        related_name="materials",
        null=True,
        blank=True,
    )
    title = models.CharField("材料名称", max_length=200)
    subject = models.CharField("科目/领域", max_length=64, blank=True)
    stage = models.CharField("学段", max_length=16, choices=Stage.choices, blank=True)
    publisher = models.CharField("编写/出版", max_length=200, blank=True)
    status = models.CharField(
        "审核状态", max_length=16, choices=MaterialStatus.choices, default=MaterialStatus.SUBMITTED
    )
    reject_reason = models.TextField("不通过理由", blank=True)
    reviewed_by_id = models.BigIntegerField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "培训材料"
        verbose_name_plural = "培训材料"
        ordering = ["institution_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(reject_reason=""),
                name="material_rejection_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.title


MATERIAL_STATES = StateMachine(
    "training_material", MaterialStatus, MATERIAL_TRANSITIONS, model=TrainingMaterial, action="material"
)


class Weekday(models.IntegerChoices):
    MON = 1, "周一"
    TUE = 2, "周二"
    WED = 3, "周三"
    THU = 4, "周四"
    FRI = 5, "周五"
    SAT = 6, "周六"
    SUN = 7, "周日"


class CourseSlot(models.Model):
    """One line of a course's timetable (课表): a weekday and times, repeated within the
    term dates, taught by a staff member."""

    scope = ScopePaths(
        division="course__institution__division_code",
        institution="course__institution_id",
        department="course__institution__competent_department__kind",
    )

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="slots")
    weekday = models.PositiveSmallIntegerField("星期", choices=Weekday.choices)
    starts_at = models.TimeField("开始时间")
    ends_at = models.TimeField("结束时间")
    term_start = models.DateField("起始日期")
    term_end = models.DateField("截止日期")
    teacher = models.ForeignKey(
        Staff, verbose_name="授课人员", on_delete=models.PROTECT, related_name="slots", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "课表"
        verbose_name_plural = "课表"
        ordering = ["course_id", "weekday", "starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="slot_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(term_end__gte=models.F("term_start")), name="slot_term_ordered"
            ),
            models.CheckConstraint(condition=Q(weekday__gte=1, weekday__lte=7), name="slot_weekday_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts_at:%H:%M}-{self.ends_at:%H:%M}"


class HoursViolation(models.Model):
    """A lesson (or timetable line) outside the allowed training hours: kept for every
    course, whether the lesson was refused (subject courses) or taken (others), for the
    inspectors' page and the next campaign's checklist."""

    scope = ScopePaths(
        division="division_code",
        institution="institution_id",
        department="institution__competent_department__kind",
    )

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="hours_violations")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="hours_violations")
    division_code = models.CharField(max_length=12, db_index=True)
    starts_at = models.DateTimeField("开始时间")
    ends_at = models.DateTimeField("结束时间")
    rule = models.CharField("规则", max_length=64)
    rule_value = models.JSONField("规则取值", null=True)
    set_by = models.CharField("设定区划", max_length=12, blank=True)
    basis = models.TextField("依据")
    message = models.TextField("情况")
    refused = models.BooleanField("已拒绝记录", default=False)
    source = models.CharField("来源", max_length=32, default="lesson")
    ref = models.CharField("关联编号", max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "培训时间违规"
        verbose_name_plural = "培训时间违规"
        ordering = ["-starts_at", "-id"]
        indexes = [
            models.Index(fields=["division_code", "institution", "created_at"], name="hoursviol_div_idx")
        ]
        constraints = [
            # one record per rule a referenced lesson or timetable line broke: the same
            # lesson sent twice at once (a retry racing the first) cannot be recorded twice
            models.UniqueConstraint(
                fields=["course", "source", "ref", "rule"],
                condition=~Q(ref=""),
                name="hoursviol_one_per_ref",
            )
        ]

    def __str__(self) -> str:
        return self.message


class PracticeBan(models.Model):
    """限制从业: a person banned from working in off-campus training, known only by the
    keyed digest of the resident ID (the number itself is never stored here), with the
    decision it rests on. Regulators read it; institutions never do."""

    scope = ScopePaths(division="division_code")

    resident_id_digest = models.CharField(max_length=64, db_index=True)
    name_masked = models.CharField("姓名(脱敏)", max_length=64, blank=True)
    resident_id_masked = models.CharField("身份证号(脱敏)", max_length=18, blank=True)
    authority = models.CharField("决定机关", max_length=100)
    decision_no = models.CharField("决定文号", max_length=64)
    basis = models.TextField("依据")
    division_code = models.CharField("决定区划", max_length=12)
    starts_on = models.DateField("起始日期")
    ends_on = models.DateField("截止日期", null=True, blank=True)
    lifted_on = models.DateField("解除日期", null=True, blank=True)
    source = models.CharField("来源", max_length=32, default="penalty_decision")
    source_ref = models.CharField(max_length=64, blank=True)
    entered_by_id = models.BigIntegerField(null=True)
    refused_hires = models.PositiveIntegerField("拒绝聘用次数", default=0)
    last_refused_on = models.DateField("最近拒绝聘用", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "限制从业名单"
        verbose_name_plural = "限制从业名单"
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="ban_range_ordered",
            ),
            models.UniqueConstraint(
                fields=["resident_id_digest", "decision_no"], name="ban_one_per_person_decision"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name_masked} {self.decision_no}"


class DisclosureItem(models.TextChoices):
    PERMIT = "permit", "办学许可证"
    REGISTRATION = "registration", "营业执照/登记证书"
    TEACHERS = "teachers", "教师信息"
    FEES = "fees", "收费标准"
    CONTENT = "content", "培训内容"
    SAFETY = "safety", "安全管理"
    CUSTODY = "custody", "资金监管"


class DisclosureNote(models.Model):
    """What an institution publishes on its disclosure board (公示栏) for one item, beside
    what the registry knows (licences, staff, courses)."""

    scope = ScopePaths(
        division="institution__division_code",
        institution="institution_id",
        department="institution__competent_department__kind",
    )

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="disclosures")
    item = models.CharField("公示事项", max_length=16, choices=DisclosureItem.choices)
    text = models.TextField("公示内容")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "公示内容"
        verbose_name_plural = "公示内容"
        ordering = ["institution_id", "item"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "item"], name="disclosure_one_per_item")
        ]

    def __str__(self) -> str:
        return f"{self.get_item_display()}"


class ApplicationKind(models.TextChoices):
    ESTABLISH = "establish", "设立"
    CHANGE = "change", "变更"
    CLOSE = "close", "注销"
    CONVERT_NONPROFIT = "convert_nonprofit", "营转非"
    FILING_TO_APPROVAL = "filing_to_approval", "备改审"


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "待审查"
    CORRECTING = "correcting", "待补正"
    APPROVED = "approved", "准予许可"
    REJECTED = "rejected", "不予许可"
    WITHDRAWN = "withdrawn", "已撤回"


# One service per transition (registry.services.applications).
APPLICATION_TRANSITIONS: dict[str, set[str]] = {
    ApplicationStatus.DRAFT: {ApplicationStatus.SUBMITTED, ApplicationStatus.WITHDRAWN},
    ApplicationStatus.SUBMITTED: {
        ApplicationStatus.CORRECTING,
        ApplicationStatus.APPROVED,
        ApplicationStatus.REJECTED,
        ApplicationStatus.WITHDRAWN,
    },
    ApplicationStatus.CORRECTING: {ApplicationStatus.SUBMITTED, ApplicationStatus.WITHDRAWN},
    ApplicationStatus.APPROVED: set(),
    ApplicationStatus.REJECTED: set(),
    ApplicationStatus.WITHDRAWN: set(),
}


class Application(models.Model):
    """An application for a licensing decision (办学许可): establish, change, close,
    营转非, 备改审. Reviewed by the competent department of the county, which decides
    within the working-day time limit; the approver supervises what it approved."""

    scope = ScopePaths(
        division="division_code",
        institution="institution_id",
        department="department__kind",
    )

    number = models.CharField(
        "受理编号", max_length=32, unique=True, null=True, blank=True
    )  # none while a draft
    kind = models.CharField("事项", max_length=24, choices=ApplicationKind.choices)
    status = models.CharField(
        "状态", max_length=16, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="applications", null=True, blank=True
    )
    division_code = models.CharField("所在区划", max_length=12, db_index=True)
    department = models.ForeignKey(
        Department, verbose_name="审批部门", on_delete=models.PROTECT, related_name="applications"
    )
    category = models.CharField("类别", max_length=16, choices=InstitutionCategory.choices)
    training_kind = models.CharField("培训类型", max_length=16, choices=Kind.choices)
    proposed = models.JSONField("申请事项", default=dict)
    checklist = models.JSONField("审查要点", default=dict, blank=True)
    correction_note = models.TextField("补正要求", blank=True)
    decision_reason = models.TextField("决定理由", blank=True)
    submitted_by_id = models.BigIntegerField(null=True)
    submitted_on = models.DateField("受理日期", null=True, blank=True)
    due_on = models.DateField("决定期限", null=True, blank=True)
    decided_on = models.DateField("决定日期", null=True, blank=True)
    decided_by_id = models.BigIntegerField(null=True)
    permit_number = models.CharField("许可证号", max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "审批申请"
        verbose_name_plural = "审批申请"
        ordering = ["-submitted_on", "-id"]
        indexes = [models.Index(fields=["division_code", "status", "due_on"], name="app_div_status_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="establish") | Q(institution__isnull=False),
                name="application_has_institution",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "rejected"]) | Q(decided_on__isnull=False),
                name="application_decided_has_date",
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | Q(number__isnull=False, submitted_on__isnull=False, due_on__isnull=False),
                name="application_submitted_has_number",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.get_kind_display()}"

    @property
    def name(self) -> str:
        return self.proposed.get("name") or (self.institution.name if self.institution_id else "")

    def overdue_on(self, day) -> bool:
        """Awaiting the department's decision past its time limit (逾期未决)."""
        return self.status == ApplicationStatus.SUBMITTED and self.due_on is not None and self.due_on < day


class ApplicationDocument(models.Model):
    """A document of an application, its type judged by content (stored by digest)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="documents")
    doc_type = models.CharField("材料", max_length=32)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    path = models.CharField(max_length=300)
    uploaded_by_id = models.BigIntegerField(null=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["application_id", "id"]

    def __str__(self) -> str:
        return self.original_name


class ApplicationTransition(TransitionRow):
    """Insert-only history of an application's status (core.states)."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=ApplicationStatus.choices)
    to_status = models.CharField(max_length=16, choices=ApplicationStatus.choices)

    class Meta(TransitionRow.Meta):
        pass


APPLICATION_STATES = StateMachine(
    "application",
    ApplicationStatus,
    APPLICATION_TRANSITIONS,
    model=Application,
    history=ApplicationTransition,
    action="application",
)
