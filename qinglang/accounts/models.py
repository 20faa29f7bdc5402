"""Users, their memberships (role + scope) and API tokens for integrations."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qinglang.core.models import DepartmentKind


class Role(models.TextChoices):
    PLATFORM_ADMIN = "platform_admin", _("平台管理员")
    REGULATOR_LEADER = "regulator_leader", _("监管领导")
    REGULATOR_OFFICER = "regulator_officer", _("监管人员")
    INSPECTOR = "inspector", _("执法检查人员")
    GRID_WORKER = "grid_worker", _("网格员")
    INSTITUTION_ADMIN = "institution_admin", _("机构管理员")
    INSTITUTION_STAFF = "institution_staff", _("机构工作人员")
    BANK_OPERATOR = "bank_operator", _("托管银行操作员")
    PARENT = "parent", _("家长")


REGULATOR_ROLES = frozenset({Role.REGULATOR_LEADER, Role.REGULATOR_OFFICER, Role.INSPECTOR, Role.GRID_WORKER})
INSTITUTION_ROLES = frozenset({Role.INSTITUTION_ADMIN, Role.INSTITUTION_STAFF})
STAFF_ROLES = frozenset({Role.PLATFORM_ADMIN, *REGULATOR_ROLES, *INSTITUTION_ROLES, Role.BANK_OPERATOR})


class User(AbstractUser):
    """A person using Qinglang. What they may see comes from their memberships."""

    display_name = models.CharField(_("姓名"), max_length=64, blank=True)
    phone = models.CharField(_("手机号码"), max_length=20, blank=True)
    # 行政执法证号 of an inspector or officer: printed on the documents they serve
    enforcement_certificate = models.CharField(_("执法证号"), max_length=32, blank=True)
    # The division whose administrators manage this account ("" = only the platform
    # admin): a county's leader sees and administers the accounts under their prefixes.
    division_code = models.CharField(_("所属区划"), max_length=12, blank=True, default="", db_index=True)
    # Set by an administrator's password reset: the next login must choose a new one.
    must_change_password = models.BooleanField(_("下次登录须修改密码"), default=False)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


class Membership(models.Model):
    """A role held by a user with its scope: division prefixes (+ department) for
    regulators, an institution for institution users, a bank for bank operators; a
    parent's scope is their own records. Institutions and banks live in upper apps, so
    they are referenced by id here and checked by the services that create memberships."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    division_prefixes = models.JSONField(default=list, blank=True)
    department_kind = models.CharField(max_length=32, choices=DepartmentKind.choices, blank=True)
    institution_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    bank_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        constraints = [
            models.CheckConstraint(
                condition=~Q(role__in=[Role.INSTITUTION_ADMIN, Role.INSTITUTION_STAFF])
                | Q(institution_id__isnull=False),
                name="membership_institution_role_has_institution",
            ),
            models.CheckConstraint(
                condition=~Q(role=Role.BANK_OPERATOR) | Q(bank_id__isnull=False),
                name="membership_bank_role_has_bank",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()}"


class TokenScope(models.TextChoices):
    """What an integration token may do, on top of its user's memberships (which decide
    *where*): ``read`` only GET/HEAD; ``read_write`` every method the user may call.
    Enforced by the API's token authentication."""

    READ = "read", _("只读")
    READ_WRITE = "read_write", _("读写")


class ApiToken(models.Model):
    """A per-integration API token. Only a SHA-256 digest is stored; the token is shown once.
    The token acts as its user (scope of data = the user's memberships); ``scope`` limits
    the methods."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    scope = models.CharField(
        _("权限范围"), max_length=16, choices=TokenScope.choices, default=TokenScope.READ_WRITE
    )
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Notification(models.Model):
    """An in-app message to one user (the inbox): escalations, whistles, … Written by
    ``accounts.notifications.notify``; only the recipient reads it or marks it read."""

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("类型"), max_length=40)  # e.g. clue.escalation.leader, whistle.late
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    link = models.CharField(_("链接"), max_length=300, blank=True)  # a path inside the portal
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("站内通知")
        verbose_name_plural = _("站内通知")
        indexes = [
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox_idx")
        ]

    def __str__(self) -> str:
        return self.title


from .scope import ScopePaths  # noqa: E402  (scope.py imports this module's roles)

User.scope = ScopePaths(division="division_code")
