"""What an institution has: its sites, staff, courses and training materials (the materials'
review state machine)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import ScopePaths
from qinglang.core.states import StateMachine

from .institutions import Institution, Kind, Stage


class Site(models.Model):
    """A training site (教学点) of an institution, located to township or community."""

    scope = ScopePaths(
        division="division_code",
        institution="institution_id",
        department="institution__competent_department__kind",
    )

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(_("场所名称"), max_length=200)
    address = models.CharField(_("地址"), max_length=255)
    division_code = models.CharField(_("所属区划"), max_length=12)
    area_sqm = models.PositiveIntegerField(_("面积(平方米)"), null=True, blank=True)
    is_primary = models.BooleanField(_("主场所"), default=False)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("培训场所")
        verbose_name_plural = _("培训场所")
        ordering = ["institution_id", "-is_primary", "id"]
        indexes = [models.Index(fields=["division_code"], name="site_div_idx")]

    def __str__(self) -> str:
        return self.name


class StaffRole(models.TextChoices):
    TEACHER = "teacher", _("教师")
    MANAGER = "manager", _("管理人员")
    OTHER = "other", _("其他从业人员")


class Staff(models.Model):
    """从业人员. The resident ID number is stored encrypted (with a keyed digest for
    duplicates) and shown masked except to roles that need it."""

    scope = ScopePaths(
        division="institution__division_code",
        institution="institution_id",
        department="institution__competent_department__kind",
    )

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="staff")
    name = models.CharField(_("姓名"), max_length=64)
    resident_id_encrypted = models.TextField(blank=True)
    resident_id_digest = models.CharField(max_length=64, blank=True, db_index=True)
    resident_id_masked = models.CharField(_("身份证号(脱敏)"), max_length=18, blank=True)
    role = models.CharField(_("岗位"), max_length=16, choices=StaffRole.choices, default=StaffRole.TEACHER)
    teaches_subject = models.BooleanField(_("从事学科类教学"), default=False)
    subjects = models.CharField(_("任教科目"), max_length=100, blank=True)
    teacher_qualification_no = models.CharField(_("教师资格证号"), max_length=32, blank=True)
    background_check_on = models.DateField(_("无犯罪记录查询日期"), null=True, blank=True)
    hired_on = models.DateField(_("入职日期"), null=True, blank=True)
    left_on = models.DateField(_("离职日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("从业人员")
        verbose_name_plural = _("从业人员")
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
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("已核准")
    REJECTED = "rejected", _("未核准")


class Course(models.Model):
    """A course on offer, with its price (integer fen per lesson)."""

    scope = ScopePaths(
        division="institution__division_code",
        institution="institution_id",
        department="institution__competent_department__kind",
    )

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="courses")
    name = models.CharField(_("课程名称"), max_length=200)
    kind = models.CharField(_("培训类型"), max_length=16, choices=Kind.choices)
    stage = models.CharField(_("学段"), max_length=16, choices=Stage.choices)
    lessons = models.PositiveIntegerField(_("课时数"))
    lesson_minutes = models.PositiveIntegerField(_("每课时分钟"), default=45)
    unit_price_fen = models.BigIntegerField(_("课时单价(分)"))
    class_size = models.PositiveIntegerField(_("班额"), null=True, blank=True)
    description = models.TextField(_("课程介绍"), blank=True)
    approval_status = models.CharField(
        _("审核状态"), max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("课程")
        verbose_name_plural = _("课程")
        ordering = ["institution_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_price_fen__gte=0), name="course_price_not_negative"),
            models.CheckConstraint(condition=Q(lessons__gte=1), name="course_has_lessons"),
        ]

    def __str__(self) -> str:
        return self.name


class MaterialStatus(models.TextChoices):
    SUBMITTED = "submitted", _("待审核")
    APPROVED = "approved", _("审核通过")
    REJECTED = "rejected", _("审核不通过")


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
        verbose_name=_("所用课程"),
        on_delete=models.SET_NULL,
        related_name="materials",
        null=True,
        blank=True,
    )
    title = models.CharField(_("材料名称"), max_length=200)
    subject = models.CharField(_("科目/领域"), max_length=64, blank=True)
    stage = models.CharField(_("学段"), max_length=16, choices=Stage.choices, blank=True)
    publisher = models.CharField(_("编写/出版"), max_length=200, blank=True)
    status = models.CharField(
        _("审核状态"), max_length=16, choices=MaterialStatus.choices, default=MaterialStatus.SUBMITTED
    )
    reject_reason = models.TextField(_("不通过理由"), blank=True)
    reviewed_by_id = models.BigIntegerField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("培训材料")
        verbose_name_plural = _("培训材料")
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
