"""Institutions (校外培训机构): their categories, kinds and statuses, the status state
machine and its history, licences, and the entries on the public white and black lists."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import ScopePaths
from qinglang.core.models import Department, TransitionRow
from qinglang.core.states import StateMachine


class InstitutionCategory(models.TextChoices):
    SUBJECT = "subject", _("学科类")
    NON_SUBJECT = "non_subject", _("非学科类")
    MEAL_CARE = "meal_care", _("托管(小饭桌)")


class Kind(models.TextChoices):
    SUBJECT = "subject", _("学科类")
    SPORTS = "sports", _("体育类")
    ARTS = "arts", _("文化艺术类")
    SCIENCE_TECH = "science_tech", _("科技类")
    PRACTICE = "practice", _("综合实践类")
    MEAL_CARE = "meal_care", _("托管(小饭桌)")


CATEGORY_KINDS = {
    InstitutionCategory.SUBJECT: {Kind.SUBJECT},
    InstitutionCategory.NON_SUBJECT: {Kind.SPORTS, Kind.ARTS, Kind.SCIENCE_TECH, Kind.PRACTICE},
    InstitutionCategory.MEAL_CARE: {Kind.MEAL_CARE},
}


class Stage(models.TextChoices):
    PRESCHOOL = "preschool", _("学龄前")
    PRIMARY = "primary", _("小学")
    JUNIOR = "junior", _("初中")
    SENIOR = "senior", _("高中")


class Mode(models.TextChoices):
    OFFLINE = "offline", _("线下")
    ONLINE = "online", _("线上")


class Nature(models.TextChoices):
    FOR_PROFIT = "for_profit", _("营利性")
    NON_PROFIT = "non_profit", _("非营利性")


class NonprofitConversion(models.TextChoices):
    NOT_APPLICABLE = "not_applicable", _("不适用")
    PENDING = "pending", _("待转")
    COMPLETED = "completed", _("已完成营转非")


class LicenceStatus(models.TextChoices):
    FULLY_LICENSED = "fully_licensed", _("证照齐全")
    PERMIT_ONLY = "permit_only", _("有证无照")
    LICENSE_ONLY = "license_only", _("有照无证")
    UNLICENSED = "unlicensed", _("无证无照")


class InstitutionStatus(models.TextChoices):
    ACTIVE = "active", _("正常办学")
    SUSPENDED = "suspended", _("停业整顿")
    STOP_ENROLLMENT = "stop_enrollment", _("停止招生")
    CLOSED = "closed", _("已关停")
    BANNED = "banned", _("已取缔")
    RUNAWAY = "runaway", _("卷款跑路")


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

    name = models.CharField(_("机构名称"), max_length=200)
    registered_name = models.CharField(_("登记名称"), max_length=200, blank=True)
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, null=True, blank=True)
    legal_representative = models.CharField(_("法定代表人"), max_length=64, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=64, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    category = models.CharField(_("类别"), max_length=16, choices=InstitutionCategory.choices)
    kind = models.CharField(_("培训类型"), max_length=16, choices=Kind.choices)
    stages = models.CharField(_("学段"), max_length=64, blank=True, help_text=_("逗号分隔"))
    mode = models.CharField(_("办学形式"), max_length=8, choices=Mode.choices, default=Mode.OFFLINE)
    nature = models.CharField(_("性质"), max_length=16, choices=Nature.choices, default=Nature.FOR_PROFIT)
    nonprofit_conversion = models.CharField(
        _("营转非"),
        max_length=16,
        choices=NonprofitConversion.choices,
        default=NonprofitConversion.NOT_APPLICABLE,
    )
    division_code = models.CharField(_("所属区划"), max_length=12)
    address = models.CharField(_("地址"), max_length=255, blank=True)
    competent_department = models.ForeignKey(
        Department,
        verbose_name=_("主管部门"),
        on_delete=models.PROTECT,
        related_name="institutions",
        null=True,
        blank=True,
    )
    competent_department_overridden = models.BooleanField(_("主管部门由审批部门指定"), default=False)
    licence_status = models.CharField(
        _("证照状态"), max_length=16, choices=LicenceStatus.choices, default=LicenceStatus.UNLICENSED
    )
    status = models.CharField(
        _("办学状态"), max_length=16, choices=InstitutionStatus.choices, default=InstitutionStatus.ACTIVE
    )
    whitelisted = models.BooleanField(_("白名单"), default=False)
    blacklisted = models.BooleanField(_("黑名单"), default=False)
    party_organisation = models.BooleanField(_("党组织覆盖"), default=False)
    party_charter_clause = models.BooleanField(_("党建入章"), default=False)
    founded_on = models.DateField(_("成立日期"), null=True, blank=True)
    # character bigrams of the names and the credit code (registry.search), kept by save()
    search_text = models.TextField(blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("培训机构")
        verbose_name_plural = _("培训机构")
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
        from ..search import search_text_for

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
    SCHOOL_PERMIT = "school_permit", _("办学许可证")
    BUSINESS_LICENSE = "business_license", _("营业执照")
    NONPROFIT_REGISTRATION = "nonprofit_registration", _("民办非企业单位登记证书")
    FIRE_ACCEPTANCE = "fire_acceptance", _("消防验收(备案)")
    FOOD_LICENCE = "food_licence", _("食品经营许可证")


class Licence(models.Model):
    """A licence or certificate an institution holds, with its validity."""

    scope = ScopePaths(
        division="institution__division_code",
        institution="institution_id",
        department="institution__competent_department__kind",
    )

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="licences")
    kind = models.CharField(_("证照类型"), max_length=32, choices=LicenceKind.choices)
    number = models.CharField(_("证号"), max_length=64)
    issuer = models.CharField(_("发证机关"), max_length=100, blank=True)
    valid_from = models.DateField(_("有效期起"), null=True, blank=True)
    valid_until = models.DateField(_("有效期至"), null=True, blank=True)
    revoked = models.BooleanField(_("已吊销/注销"), default=False)
    # 经营范围 (营业执照) / 业务范围 (民办非企业单位登记证书), as printed on the licence: a
    # non-subject institution's scope is screened for disguised subject training
    business_scope = models.TextField(_("经营范围"), blank=True, default="")

    class Meta:
        verbose_name = _("证照")
        verbose_name_plural = _("证照")
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
    WHITE = "white", _("白名单")
    BLACK = "black", _("黑名单")


class ListEntry(models.Model):
    """An entry on the public white or black list: why, when, who decided; removal is
    recorded on the same row (never deleted)."""

    scope = ScopePaths(division="institution__division_code", institution="institution_id")

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="list_entries")
    list_kind = models.CharField(_("名单"), max_length=8, choices=ListKind.choices)
    reason = models.TextField(_("理由"))
    decided_on = models.DateField(_("决定日期"))
    decided_by_id = models.BigIntegerField(null=True)
    decided_by_label = models.CharField(_("决定人"), max_length=150, blank=True)
    removed_on = models.DateField(_("移出日期"), null=True, blank=True)
    removed_reason = models.TextField(_("移出理由"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("名单记录")
        verbose_name_plural = _("名单记录")
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
