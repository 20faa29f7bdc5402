"""Rules in force: timetables (课表), hours violations, practice bans (限制从业) and the
disclosure board (公示栏)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import ScopePaths

from .institutions import Institution
from .resources import Course, Staff


class Weekday(models.IntegerChoices):
    MON = 1, _("周一")
    TUE = 2, _("周二")
    WED = 3, _("周三")
    THU = 4, _("周四")
    FRI = 5, _("周五")
    SAT = 6, _("周六")
    SUN = 7, _("周日")


class CourseSlot(models.Model):
    """One line of a course's timetable (课表): a weekday and times, repeated within the
    term dates, taught by a staff member."""

    scope = ScopePaths(
        division="course__institution__division_code",
        institution="course__institution_id",
        department="course__institution__competent_department__kind",
    )

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="slots")
    weekday = models.PositiveSmallIntegerField(_("星期"), choices=Weekday.choices)
    starts_at = models.TimeField(_("开始时间"))
    ends_at = models.TimeField(_("结束时间"))
    term_start = models.DateField(_("起始日期"))
    term_end = models.DateField(_("截止日期"))
    teacher = models.ForeignKey(
        Staff,
        verbose_name=_("授课人员"),
        on_delete=models.PROTECT,
        related_name="slots",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("课表")
        verbose_name_plural = _("课表")
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
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    rule = models.CharField(_("规则"), max_length=64)
    rule_value = models.JSONField(_("规则取值"), null=True)
    set_by = models.CharField(_("设定区划"), max_length=12, blank=True)
    basis = models.TextField(_("依据"))
    message = models.TextField(_("情况"))
    refused = models.BooleanField(_("已拒绝记录"), default=False)
    source = models.CharField(_("来源"), max_length=32, default="lesson")
    ref = models.CharField(_("关联编号"), max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("培训时间违规")
        verbose_name_plural = _("培训时间违规")
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
    name_masked = models.CharField(_("姓名(脱敏)"), max_length=64, blank=True)
    resident_id_masked = models.CharField(_("身份证号(脱敏)"), max_length=18, blank=True)
    authority = models.CharField(_("决定机关"), max_length=100)
    decision_no = models.CharField(_("决定文号"), max_length=64)
    basis = models.TextField(_("依据"))
    division_code = models.CharField(_("决定区划"), max_length=12)
    starts_on = models.DateField(_("起始日期"))
    ends_on = models.DateField(_("截止日期"), null=True, blank=True)
    lifted_on = models.DateField(_("解除日期"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=32, default="penalty_decision")
    source_ref = models.CharField(max_length=64, blank=True)
    entered_by_id = models.BigIntegerField(null=True)
    refused_hires = models.PositiveIntegerField(_("拒绝聘用次数"), default=0)
    last_refused_on = models.DateField(_("最近拒绝聘用"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("限制从业名单")
        verbose_name_plural = _("限制从业名单")
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
    PERMIT = "permit", _("办学许可证")
    REGISTRATION = "registration", _("营业执照/登记证书")
    TEACHERS = "teachers", _("教师信息")
    FEES = "fees", _("收费标准")
    CONTENT = "content", _("培训内容")
    SAFETY = "safety", _("安全管理")
    CUSTODY = "custody", _("资金监管")


class DisclosureNote(models.Model):
    """What an institution publishes on its disclosure board (公示栏) for one item, beside
    what the registry knows (licences, staff, courses)."""

    scope = ScopePaths(
        division="institution__division_code",
        institution="institution_id",
        department="institution__competent_department__kind",
    )

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="disclosures")
    item = models.CharField(_("公示事项"), max_length=16, choices=DisclosureItem.choices)
    text = models.TextField(_("公示内容"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("公示内容")
        verbose_name_plural = _("公示内容")
        ordering = ["institution_id", "item"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "item"], name="disclosure_one_per_item")
        ]

    def __str__(self) -> str:
        return f"{self.get_item_display()}"
