"""Disguised subject training (隐形变异): text screenings held for review, the online
patrol register (网上巡查) with takedown requests, and key-place sweeps (专项摸排 → 清零).

Institutions, courses, materials and clues are referred to by plain ids and division codes
where they live in the apps below (registry, clues); this app reads them through their
selectors and writes to them only through their services."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import ScopePaths


class Label(models.TextChoices):
    SUBJECT = "subject", _("学科类培训")
    NON_SUBJECT = "non_subject", _("非学科类")
    DISGUISED = "disguised_subject", _("隐形变异学科培训")


class Pattern(models.TextChoices):
    ONLINE = "online", _("转至线上")
    UNDERGROUND = "underground", _("转入地下")
    RELABELLED = "relabelled", _("改头换面")


class Source(models.TextChoices):
    COURSE = "course", _("课程名称与介绍")
    MATERIAL = "material", _("培训材料")
    BUSINESS_SCOPE = "business_scope", _("经营范围")


class HoldStatus(models.TextChoices):
    HELD = "held", _("待复核")
    CLEARED = "cleared", _("复核无问题")
    CONFIRMED = "confirmed", _("确认隐形变异")


HOLD_TRANSITIONS = {
    HoldStatus.HELD: {HoldStatus.CLEARED, HoldStatus.CONFIRMED},
    HoldStatus.CLEARED: set(),
    HoldStatus.CONFIRMED: set(),
}


class TextHold(models.Model):
    """A text that reads as subject training where it should not (a non-subject course,
    a training material, a business scope), held for a regulator's review with the
    evidence. A reviewed text is not held again: the row is unique per object and text."""

    scope = ScopePaths(division="division_code", institution="institution_id")

    source = models.CharField(_("来源"), max_length=16, choices=Source.choices)
    object_id = models.BigIntegerField(_("对象编号"))
    object_name = models.CharField(_("对象"), max_length=200)
    institution_id = models.BigIntegerField(_("机构编号"), null=True, blank=True)
    institution_name = models.CharField(_("机构"), max_length=200, blank=True)
    division_code = models.CharField(_("所属区划"), max_length=12, db_index=True)
    text = models.TextField(_("文本"))
    text_sha256 = models.CharField(max_length=64)
    label = models.CharField(_("研判结果"), max_length=20, choices=Label.choices)
    confidence = models.FloatField(_("置信度"))
    pattern = models.CharField(_("变异形式"), max_length=16, choices=Pattern.choices, blank=True)
    cover = models.CharField(_("名义"), max_length=20, blank=True)
    evidence = models.JSONField(_("证据"), default=list, blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=HoldStatus.choices, default=HoldStatus.HELD)
    review_note = models.TextField(_("复核意见"), blank=True)
    reviewed_by_id = models.BigIntegerField(null=True, blank=True)
    reviewed_at = models.DateTimeField(_("复核时间"), null=True, blank=True)
    # a confirmed hold raises a lead (clues channel online_patrol) or joins the open case
    clue_id = models.BigIntegerField(_("线索编号"), null=True, blank=True)
    clue_reference = models.CharField(_("线索编号"), max_length=20, blank=True)
    joined_case = models.BooleanField(_("并入已有案件"), default=False)
    created_at = models.DateTimeField(_("发现时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("文本研判待复核")
        verbose_name_plural = verbose_name
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "object_id", "text_sha256"], name="texthold_once_per_text"
            ),
            models.CheckConstraint(
                condition=Q(status="held") | ~Q(review_note=""), name="texthold_review_has_note"
            ),
        ]
        indexes = [models.Index(fields=["division_code", "status"])]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.object_name}"


class Platform(models.TextChoices):
    DOUYIN = "douyin", _("抖音")
    WECHAT_GROUP = "wechat_group", _("微信群")
    MOMENTS = "moments", _("朋友圈")
    XIAOHONGSHU = "xiaohongshu", _("小红书")
    FLYER = "flyer", _("传单")
    BUS_STOP = "bus_stop", _("公交站牌")
    OTHER = "other", _("其他")


class PatrolPost(models.Model):
    """网上巡查: an ad or post a regulator found, scored by the classifier. A hit opens a
    lead (clue channel online_patrol) or joins the open case of the same operator."""

    scope = ScopePaths(division="division_code")

    division_code = models.CharField(_("所属区划"), max_length=12, db_index=True)
    platform = models.CharField(_("平台"), max_length=16, choices=Platform.choices)
    url = models.CharField(_("网址"), max_length=500, blank=True)
    text = models.TextField(_("内容"))
    seen_on = models.DateField(_("发现日期"))
    operator_name = models.CharField(_("发布主体"), max_length=200, blank=True)
    institution_id = models.BigIntegerField(_("机构编号"), null=True, blank=True)
    screenshot = models.CharField(_("截图"), max_length=255, blank=True)
    screenshot_sha256 = models.CharField(max_length=64, blank=True)
    label = models.CharField(_("研判结果"), max_length=20, choices=Label.choices)
    confidence = models.FloatField(_("置信度"))
    pattern = models.CharField(_("变异形式"), max_length=16, choices=Pattern.choices, blank=True)
    cover = models.CharField(_("名义"), max_length=20, blank=True)
    evidence = models.JSONField(_("证据"), default=list, blank=True)
    hit = models.BooleanField(_("命中"), default=False)
    clue_id = models.BigIntegerField(_("线索编号"), null=True, blank=True)
    clue_reference = models.CharField(_("线索编号"), max_length=20, blank=True)
    joined_case = models.BooleanField(_("并入已有案件"), default=False)
    recorded_by_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("网上巡查记录")
        verbose_name_plural = verbose_name
        ordering = ["-seen_on", "-id"]
        indexes = [models.Index(fields=["division_code", "platform", "seen_on"])]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} {self.seen_on}"


class TakedownStatus(models.TextChoices):
    SENT = "sent", _("已发函待答复")
    REMOVED = "removed", _("已下架")
    REFUSED = "refused", _("平台拒绝")
    NOT_FOUND = "not_found", _("内容已不存在")


TAKEDOWN_TRANSITIONS = {
    TakedownStatus.SENT: {TakedownStatus.REMOVED, TakedownStatus.REFUSED, TakedownStatus.NOT_FOUND},
    TakedownStatus.REMOVED: set(),
    TakedownStatus.REFUSED: set(),
    TakedownStatus.NOT_FOUND: set(),
}


class TakedownRequest(models.Model):
    """A request to the platform to take a post down, tracked to its answer."""

    scope = ScopePaths(division="post__division_code")

    post = models.ForeignKey(PatrolPost, on_delete=models.CASCADE, related_name="takedowns")
    sent_on = models.DateField(_("发函日期"))
    reference = models.CharField(_("函号"), max_length=64, blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=TakedownStatus.choices, default=TakedownStatus.SENT
    )
    answered_on = models.DateField(_("答复日期"), null=True, blank=True)
    answer = models.TextField(_("平台答复"), blank=True)
    sent_by_id = models.BigIntegerField(null=True)

    class Meta:
        verbose_name = _("下架请求")
        verbose_name_plural = verbose_name
        ordering = ["-sent_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="sent") | Q(answered_on__isnull=False), name="takedown_answer_dated"
            ),
        ]

    def __str__(self) -> str:
        return f"下架请求 {self.sent_on} {self.get_status_display()}"


class PlaceType(models.TextChoices):
    OFFICE_BUILDING = "office_building", _("商务楼宇")
    RESIDENTIAL = "residential", _("居民小区")
    HOTEL = "hotel", _("酒店宾馆")
    BASEMENT = "basement", _("车库与地下室")
    STUDY_ROOM = "study_room", _("自习室")
    CARE_CENTRE = "care_centre", _("托管点")
    HOUSEKEEPING = "housekeeping", _("家政公司")


class SweepStatus(models.TextChoices):
    OPEN = "open", _("进行中")
    CLOSED = "closed", _("已结束")


class Sweep(models.Model):
    """专项摸排: a sweep over some place types in an area (a county or a township)."""

    scope = ScopePaths(division="division_code")

    name = models.CharField(_("名称"), max_length=200)
    division_code = models.CharField(_("范围"), max_length=12, db_index=True)
    place_types = models.JSONField(_("场所类型"), default=list, blank=True)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("截止日期"))
    status = models.CharField(_("状态"), max_length=8, choices=SweepStatus.choices, default=SweepStatus.OPEN)
    created_by_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("专项摸排")
        verbose_name_plural = verbose_name
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="sweep_dates_in_order"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SweepPlace(models.Model):
    """A place on a sweep's list (imported, or added on the spot by a visitor)."""

    scope = ScopePaths(division="division_code")

    sweep = models.ForeignKey(Sweep, on_delete=models.CASCADE, related_name="places")
    name = models.CharField(_("场所名称"), max_length=200)
    address = models.CharField(_("地址"), max_length=255)
    place_type = models.CharField(_("场所类型"), max_length=20, choices=PlaceType.choices)
    division_code = models.CharField(_("所属乡镇(街道)/社区"), max_length=12, db_index=True)
    added_on_spot = models.BooleanField(_("现场新增"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("摸排场所")
        verbose_name_plural = verbose_name
        ordering = ["division_code", "id"]
        constraints = [
            models.UniqueConstraint(fields=["sweep", "name", "address"], name="sweepplace_once_per_sweep"),
        ]

    def __str__(self) -> str:
        return self.name


class Outcome(models.TextChoices):
    CLEAR = "clear", _("未发现问题")
    SUSPICIOUS = "suspicious", _("存在疑点")
    VIOLATION = "violation", _("发现违规")


class SweepVisit(models.Model):
    """One visit to a listed place. A suspicious or violation visit is a finding that
    stays open until it is closed (with how); a violation opens a lead in clues."""

    scope = ScopePaths(division="place__division_code")

    place = models.ForeignKey(SweepPlace, on_delete=models.CASCADE, related_name="visits")
    outcome = models.CharField(_("结果"), max_length=12, choices=Outcome.choices)
    note = models.TextField(_("情况说明"), blank=True)
    photos = models.JSONField(_("照片"), default=list, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    visited_by_id = models.BigIntegerField(null=True)
    visited_at = models.DateTimeField(_("走访时间"))
    clue_id = models.BigIntegerField(_("线索编号"), null=True, blank=True)
    clue_reference = models.CharField(_("线索编号"), max_length=20, blank=True)
    closed_at = models.DateTimeField(_("问题关闭时间"), null=True, blank=True)
    close_note = models.TextField(_("关闭说明"), blank=True)

    class Meta:
        verbose_name = _("走访记录")
        verbose_name_plural = verbose_name
        ordering = ["-visited_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(outcome="clear") | Q(closed_at__isnull=True),
                name="sweepvisit_clear_has_no_finding",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | ~Q(close_note=""), name="sweepvisit_close_has_note"
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | (Q(latitude__gte=-90) & Q(latitude__lte=90)),
                name="sweepvisit_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | (Q(longitude__gte=-180) & Q(longitude__lte=180)),
                name="sweepvisit_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.place} {self.get_outcome_display()}"

    @property
    def is_finding(self) -> bool:
        return self.outcome != Outcome.CLEAR
