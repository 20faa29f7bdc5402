"""Core tables: the division tree, departments, policy parameters and the audit trail."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DivisionLevel(models.IntegerChoices):
    PROVINCE = 1, _("省级")
    CITY = 2, _("地级")
    COUNTY = 3, _("县级")
    TOWNSHIP = 4, _("乡镇(街道)")
    COMMUNITY = 5, _("社区(村)")


CODE_LENGTHS = {
    2: DivisionLevel.PROVINCE,
    4: DivisionLevel.CITY,
    6: DivisionLevel.COUNTY,
    9: DivisionLevel.TOWNSHIP,
    12: DivisionLevel.COMMUNITY,
}


class Division(models.Model):
    """行政区划: a GB/T 2260 code (2/4/6 digits) or NBS statistical code (9/12 digits).
    "Within" is a prefix match on ``code``."""

    code = models.CharField(max_length=12, primary_key=True)
    name = models.CharField(max_length=64)
    level = models.PositiveSmallIntegerField(choices=DivisionLevel.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    full_name = models.CharField(max_length=200, blank=True)
    # A retired township or community keeps its row (records still point at it) but is
    # offered nowhere for new records. Set by ``core.services.division_retire``.
    retired = models.BooleanField(_("已撤销"), default=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        constraints = [
            models.CheckConstraint(
                condition=Q(level=1, code__regex=r"^[0-9]{2}$")
                | Q(level=2, code__regex=r"^[0-9]{4}$")
                | Q(level=3, code__regex=r"^[0-9]{6}$")
                | Q(level=4, code__regex=r"^[0-9]{9}$")
                | Q(level=5, code__regex=r"^[0-9]{12}$"),
                name="division_code_matches_level",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def county_code(self) -> str | None:
        return self.code[:6] if len(self.code) >= 6 else None


class DepartmentKind(models.TextChoices):
    EDUCATION = "education", _("教育局")
    SPORTS = "sports", _("体育局")
    CULTURE_TOURISM = "culture_tourism", _("文化和旅游局")
    SCIENCE_TECH = "science_tech", _("科技局")
    MARKET_REGULATION = "market_regulation", _("市场监督管理局")
    FIRE = "fire", _("消防救援大队")
    PUBLIC_SECURITY = "public_security", _("公安局")
    CIVIL_AFFAIRS = "civil_affairs", _("民政局")
    HUMAN_RESOURCES = "human_resources", _("人力资源和社会保障局")
    DEVELOPMENT_REFORM = "development_reform", _("发展和改革局")
    HOUSING = "housing", _("住房和城乡建设局")
    URBAN_MANAGEMENT = "urban_management", _("城市管理局")
    FINANCE_REGULATOR = "finance_regulator", _("金融监管局")
    TOWNSHIP_GOVERNMENT = "township_government", _("乡镇人民政府(街道办事处)")


class Department(models.Model):
    """A department of a division's government (主管部门 when it supervises institutions)."""

    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="departments")
    kind = models.CharField(max_length=32, choices=DepartmentKind.choices)
    name = models.CharField(max_length=100)
    phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    email = models.EmailField(_("电子邮箱"), blank=True)
    person_in_charge = models.CharField(_("负责人"), max_length=64, blank=True)
    person_in_charge_phone = models.CharField(_("负责人电话"), max_length=30, blank=True)

    class Meta:
        ordering = ["division_id", "kind"]
        verbose_name = _("部门")
        verbose_name_plural = _("部门")
        constraints = [
            models.UniqueConstraint(fields=["division", "kind"], name="department_unique_kind_per_division")
        ]

    def __str__(self) -> str:
        return self.name


class PolicyParameter(models.Model):
    """Policy as data: a rule's figure for a division ("" = national default). Resolution
    walks from the most specific division code up to the national default."""

    key = models.CharField(max_length=100, db_index=True)
    division_code = models.CharField(max_length=12, blank=True, default="")
    value = models.JSONField(null=True, blank=True)  # null = "set locally", not enforced
    basis = models.TextField()
    effective_from = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key", "division_code", "-effective_from"]
        verbose_name = _("政策参数")
        verbose_name_plural = _("政策参数")
        constraints = [
            models.UniqueConstraint(
                fields=["key", "division_code", "effective_from"],
                name="policy_unique_key_division_from",
            )
        ]

    def __str__(self) -> str:
        return f"{self.key}@{self.division_code or '全国'}={self.value}"


class AuditEvent(models.Model):
    """Append-only, hash-chained record of every write (审计日志). ``seq`` is contiguous;
    ``hash`` covers the event's fields and the previous event's hash."""

    seq = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    division_code = models.CharField(max_length=12, blank=True, db_index=True)
    changes = models.JSONField(default=dict)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")
        indexes = [models.Index(fields=["object_type", "object_id", "seq"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditHead(models.Model):
    """The chain's head (one row): deleting the newest events is caught against it.
    ``keyed_from`` is the first seq hashed with the deployment's key (HMAC); events before
    it were written by the unkeyed scheme of earlier versions and are checked by it. The
    boundary is copied into every signed checkpoint, so moving it is caught."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)
    keyed_from = models.BigIntegerField(default=1)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="audit_head_single_row")]

    def __str__(self) -> str:
        return f"head #{self.seq}"


class TransitionRow(models.Model):
    """Base of every transition table: one insert-only row per state change (from, to,
    reason, who, when), written by ``core.states.StateMachine.move``. A concrete table adds
    one foreign key to the object that moved, with ``on_delete=models.PROTECT`` (the
    history outlives nothing: an object with a history cannot be deleted), and may redeclare
    ``from_status``/``to_status`` with the model's choices for display."""

    from_status = models.CharField(max_length=32)
    to_status = models.CharField(max_length=32)
    reason = models.TextField(blank=True)
    actor_id = models.BigIntegerField(null=True)  # the user, or NULL for a system actor
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError(f"{type(self).__name__} rows are insert-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} rows are insert-only")


class DocumentCounter(models.Model):
    """The last serial of a document series (发文字号) an issuing unit used in a year:
    numbers are taken under this row's lock (``core.documents.allocate_numbers``), so they
    run 1, 2, 3 … without gaps or repeats."""

    unit = models.CharField(_("发文机关"), max_length=64)
    series = models.CharField(_("文种代字"), max_length=32)
    year = models.PositiveSmallIntegerField(_("年份"))
    last = models.PositiveIntegerField(_("已用序号"), default=0)

    class Meta:
        verbose_name = _("发文字号计数")
        verbose_name_plural = _("发文字号计数")
        constraints = [
            models.UniqueConstraint(fields=["unit", "series", "year"], name="document_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.unit}{self.series}〔{self.year}〕{self.last}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("处理中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("未完成")


class Job(models.Model):
    """A long piece of work (a large import, draw or export) run in the background, with
    its progress and result; only its owner sees it (``core.jobs``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("类型"), max_length=40)
    title = models.CharField(_("名称"), max_length=200)
    handler = models.CharField(max_length=200)  # dotted path of the function doing the work
    owner_id = models.BigIntegerField(db_index=True)
    params = models.JSONField(default=dict, blank=True)
    input_path = models.CharField(max_length=200, blank=True)  # relative to MEDIA_ROOT
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)  # summary, errors
    result_path = models.CharField(max_length=200, blank=True)
    result_name = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("后台任务")
        verbose_name_plural = _("后台任务")

    def __str__(self) -> str:
        return self.title

    @property
    def percent(self) -> int | None:
        if self.status == JobStatus.DONE:
            return 100
        return min(99, self.done * 100 // self.total) if self.total else None
