"""Writes of the accounts app: users, memberships, API tokens."""

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError, PermissionDeniedError
from qinglang.core.i18n import chinese_label
from qinglang.core.models import DepartmentKind, Division
from qinglang.core.validators import validate_mobile

from .models import INSTITUTION_ROLES, REGULATOR_ROLES, ApiToken, Membership, Role, TokenScope, User
from .permissions import TOKEN_HOLDERS, has_role, is_system
from .scope import actor_for, actor_from_memberships

TOKEN_PREFIX = "qlt_"


@transaction.atomic
def user_create(
    *,
    actor,
    username: str,
    password: str,
    display_name: str = "",
    phone: str = "",
    check_password: bool = True,
    division_code: str = "",
    must_change_password: bool = False,
) -> User:
    """A login. ``division_code`` is where it is administered (the county's leader sees
    it); ``must_change_password`` makes the first login choose a new password."""
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": gettext_lazy("请填写用户名")})
    if User.objects.filter(username=username).exists():
        raise DomainError(
            "duplicate_username",
            format_lazy(gettext_lazy("用户名已存在：{username}"), username=username),
            {"username": username},
        )
    if phone:
        try:
            phone = validate_mobile(phone)
        except ValidationError as exc:
            raise ValidationError({"phone": exc.messages})
        if User.objects.filter(phone=phone).exists():
            raise DomainError(
                "duplicate_phone",
                format_lazy(gettext_lazy("手机号码已被其他账号使用：{phone}"), phone=phone),
                {"phone": phone},
            )
    if division_code and not Division.objects.filter(code=division_code).exists():
        raise DomainError(
            "unknown_division",
            format_lazy(gettext_lazy("区划代码不存在：{division_code}"), division_code=division_code),
            {"code": division_code},
        )
    user = User(
        username=username,
        display_name=display_name,
        phone=phone,
        division_code=division_code,
        must_change_password=must_change_password,
    )
    if check_password:
        validate_password(password, user)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    audit_record(
        actor=actor,
        action="user.create",
        obj=user,
        division_code=division_code,
        changes={"username": [None, username], "display_name": [None, display_name]},
    )
    return user


# --- who may grant what ------------------------------------------------------------------
#
# Roles a user may grant, by the roles they hold. Nobody grants a role above their own: a
# leader grants the county's regulator roles (their own included) within their prefixes;
# officers and institution admins create institution logins (the registry checks the
# institution); a leader also makes the operators of a custody bank of their own prefixes
# (the bank's division is looked up through ``bank_division``, which funds sets); parents
# and the platform admin role are granted only by the platform admin (or by the system:
# setup, demo data).
GRANTABLE: dict[str, frozenset[str]] = {
    Role.REGULATOR_LEADER: frozenset(
        {*REGULATOR_ROLES, Role.INSTITUTION_ADMIN, Role.INSTITUTION_STAFF, Role.BANK_OPERATOR}
    ),
    Role.REGULATOR_OFFICER: frozenset(INSTITUTION_ROLES),
    Role.INSTITUTION_ADMIN: frozenset(INSTITUTION_ROLES),
}


def grantable_roles(actor) -> frozenset[str]:
    if is_system(actor):
        return frozenset(Role.values)
    a = actor_for(actor)
    if a.is_platform_admin:
        return frozenset(Role.values)
    out: set[str] = set()
    for role in a.roles:
        out |= GRANTABLE.get(role, frozenset())
    return frozenset(out)


def leader_prefixes(actor) -> list[tuple[str, str]]:
    """(prefix, department kind) of the actor's leader memberships: where they administer."""
    if is_system(actor):
        return []
    rows = Membership.objects.filter(user_id=actor.pk, active=True, role=Role.REGULATOR_LEADER)
    return [(p, m.department_kind) for m in rows for p in m.division_prefixes if p]


class _BankDivision:
    """The division code of a custody bank by id (None: no such bank). Banks live in funds,
    above accounts: ``FundsConfig.ready`` sets ``lookup``, as config/api.py sets the token
    lookup of core."""

    lookup: Callable[[int], str | None] | None = None

    def __call__(self, bank_id: int | None) -> str | None:
        if not bank_id or self.lookup is None:
            return None
        return self.lookup(bank_id)


bank_division = _BankDivision()


def check_grant(
    actor, *, role: str, division_prefixes: list[str], department_kind: str = "", bank_id: int | None = None
) -> None:
    """Refuse a grant above the actor's own role or outside their own scope (403)."""
    if is_system(actor) or actor_for(actor).is_platform_admin:
        return
    if role not in grantable_roles(actor):
        label = chinese_label(Role, role) if role in Role.values else role
        raise PermissionDeniedError(
            format_lazy(gettext_lazy("无权授予“{label}”角色：不能授予高于自己的角色"), label=label)
        )
    if role == Role.BANK_OPERATOR:
        where = bank_division(bank_id)
        if where is None or not any(where.startswith(mp) for mp, _ in leader_prefixes(actor)):
            raise PermissionDeniedError(gettext_lazy("无权为该托管银行授权：银行不在本人管辖范围内"))
    if role in REGULATOR_ROLES:
        mine = leader_prefixes(actor)
        for p in division_prefixes:
            covering = [d for mp, d in mine if p.startswith(mp)]
            if not covering:
                raise PermissionDeniedError(
                    format_lazy(
                        gettext_lazy("无权在区划{value}授权：超出本人管辖范围"),
                        value=p or gettext_lazy("全国"),
                    )
                )
            if "" not in covering and department_kind not in covering:
                raise PermissionDeniedError(gettext_lazy("只能授予本部门的角色"))


def may_administer(actor, user: User) -> bool:
    """The platform admin anyone; a leader the accounts administered within their prefixes
    (never a platform admin's)."""
    if is_system(actor):
        return True
    a = actor_for(actor)
    if a.is_platform_admin:
        return True
    if not user.division_code:
        return False
    if Membership.objects.filter(user=user, active=True, role=Role.PLATFORM_ADMIN).exists():
        return False
    return any(user.division_code.startswith(p) for p, _ in leader_prefixes(actor))


@transaction.atomic
def membership_grant(
    *,
    actor,
    user: User,
    role: str,
    division_prefixes: list[str] | None = None,
    department_kind: str = "",
    institution_id: int | None = None,
    bank_id: int | None = None,
) -> Membership:
    """Give ``user`` a role with its scope. Institution and bank ids are validated by the
    upper apps' services that call this (registry, funds). A user actor may grant only
    what ``check_grant`` allows (no role above their own, no scope outside their own)."""
    if role not in Role.values:
        raise ValidationError({"role": format_lazy(gettext_lazy("未知角色：{role}"), role=role)})
    prefixes = [p.strip() for p in (division_prefixes or [])]
    if role in REGULATOR_ROLES:
        if not prefixes:
            raise ValidationError({"division_prefixes": gettext_lazy("监管角色须指定管辖区划")})
        known = set(
            Division.objects.filter(code__in=[p for p in prefixes if p]).values_list("code", flat=True)
        )
        unknown = [p for p in prefixes if p and p not in known]
        if unknown:
            raise DomainError(
                "unknown_division",
                format_lazy(gettext_lazy("区划代码不存在：{unknown}"), unknown="、".join(unknown)),
                {"codes": unknown},
            )
        if department_kind and department_kind not in DepartmentKind.values:
            raise ValidationError(
                {
                    "department_kind": format_lazy(
                        gettext_lazy("未知部门类型：{department_kind}"), department_kind=department_kind
                    )
                }
            )
    elif prefixes or department_kind:
        raise ValidationError({"division_prefixes": gettext_lazy("只有监管角色按区划授权")})
    if role in INSTITUTION_ROLES and not institution_id:
        raise ValidationError({"institution_id": gettext_lazy("机构角色须指定机构")})
    if role == Role.BANK_OPERATOR and not bank_id:
        raise ValidationError({"bank_id": gettext_lazy("银行角色须指定银行")})
    check_grant(
        actor, role=role, division_prefixes=prefixes, department_kind=department_kind or "", bank_id=bank_id
    )
    m = Membership.objects.create(
        user=user,
        role=role,
        division_prefixes=prefixes,
        department_kind=department_kind or "",
        institution_id=institution_id if role in INSTITUTION_ROLES else None,
        bank_id=bank_id if role == Role.BANK_OPERATOR else None,
    )
    tokens_changed()
    audit_record(
        actor=actor,
        action="membership.grant",
        obj=m,
        object_type="accounts.membership",
        division_code=prefixes[0] if prefixes else "",
        changes={
            "user": user.username,
            "role": role,
            "division_prefixes": prefixes,
            "department_kind": department_kind,
            "institution_id": institution_id,
            "bank_id": bank_id,
        },
    )
    return m


@transaction.atomic
def membership_revoke(*, actor, membership: Membership) -> Membership:
    Membership.objects.select_for_update().filter(pk=membership.pk).update(active=False)
    membership.active = False
    tokens_changed()
    audit_record(actor=actor, action="membership.revoke", obj=membership, changes={"active": [True, False]})
    return membership


def _may_manage_tokens(actor, user: User) -> bool:
    """Tokens of an account: its administrators, or the user themself (a token never
    reaches further than its user)."""
    return may_administer(actor, user) or (not is_system(actor) and getattr(actor, "pk", None) == user.pk)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@transaction.atomic
def api_token_create(
    *, actor, user: User, name: str, scope: str = TokenScope.READ_WRITE
) -> tuple[ApiToken, str]:
    """Create a token for an integration, acting as ``user`` (its memberships decide which
    data) limited to ``scope`` (which methods). Returns the plain token, never stored."""
    if not (name or "").strip():
        raise ValidationError({"name": gettext_lazy("请填写令牌用途")})
    if scope not in TokenScope.values:
        raise ValidationError(
            {"scope": format_lazy(gettext_lazy("未知的令牌权限范围：{scope}"), scope=scope)}
        )
    if not _may_manage_tokens(actor, user):
        raise PermissionDeniedError(gettext_lazy("无权为该账号创建接口令牌"))
    if getattr(actor, "pk", None) == user.pk and not has_role(user, TOKEN_HOLDERS):
        raise PermissionDeniedError(
            gettext_lazy("您的角色不能持有接口令牌(限监管人员、机构管理员和银行操作员)")
        )
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    tok = ApiToken.objects.create(
        user=user, name=name.strip(), scope=scope, prefix=plain[:12], digest=_digest(plain)
    )
    audit_record(
        actor=actor,
        action="api_token.create",
        obj=tok,
        division_code=user.division_code,
        changes={"user": user.username, "name": tok.name, "scope": scope},
    )
    return tok, plain


@transaction.atomic
def api_token_revoke(*, actor, token: ApiToken) -> ApiToken:
    if not _may_manage_tokens(actor, token.user):
        raise PermissionDeniedError(gettext_lazy("无权吊销该接口令牌"))
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    tokens_changed()
    audit_record(actor=actor, action="api_token.revoke", obj=token, changes={"revoked": True})
    return token


# The hot path of every API call, in one statement: the token, its user (the fields a
# request needs; the rest load on first use) and the user's active memberships (LEFT JOIN:
# one row per membership). Plain SQL: the ORM's per-call query compilation cost more than
# the query itself.
_TOKEN_USER_FIELDS = ("id", "username", "is_active", "is_staff", "is_superuser", "display_name")
_TOKEN_SQL = """
SELECT t.id, t.last_used_at,
       u.id, u.username, u.is_active, u.is_staff, u.is_superuser, u.display_name,
       m.role, m.division_prefixes, m.department_kind, m.institution_id, m.bank_id,
       t.scope
  FROM accounts_apitoken t
  JOIN accounts_user u ON u.id = t.user_id
  LEFT JOIN accounts_membership m ON m.user_id = u.id AND m.active
 WHERE t.digest = %s AND t.revoked_at IS NULL AND u.is_active AND t.created_at >= %s
"""


# Resolved tokens, per process, for ``settings.API_TOKEN_CACHE_SECONDS``: digest → (expires,
# user fields, memberships, token id, last used). Every service that changes what a token
# resolves to (a token revoked, a membership granted or withdrawn, an account deactivated)
# calls ``tokens_changed``, which clears it in this process at once and again on commit;
# other processes see the change within the cache time. 0 turns it off.
_RECENT: dict[str, tuple] = {}
_RECENT_MAX = 10_000


def forget_resolved_tokens() -> None:
    _RECENT.clear()


def tokens_changed() -> None:
    """A user, membership or token changed: drop the resolved tokens now and again when the
    transaction commits (so a token resolved from the old rows in between does not outlive
    the commit) — the same pattern as the audit and the public search version."""
    forget_resolved_tokens()
    transaction.on_commit(forget_resolved_tokens)


def _resolve(digest: str) -> tuple | None:
    ttl = settings.API_TOKEN_CACHE_SECONDS
    now = time.monotonic()
    hit = _RECENT.get(digest) if ttl else None
    if hit is not None and hit[0] > now:
        return hit
    with connection.cursor() as cur:
        # a token expires QINGLANG_API_TOKEN_MAX_AGE_DAYS after it was made
        cutoff = timezone.now() - timedelta(days=settings.API_TOKEN_MAX_AGE_DAYS)
        cur.execute(_TOKEN_SQL, [digest, cutoff])
        rows = cur.fetchall()
    if not rows:
        _RECENT.pop(digest, None)
        return None
    first = rows[0]
    n = len(_TOKEN_USER_FIELDS)
    uid, username, is_active, is_staff, is_superuser, display_name = first[2 : 2 + n]
    got = {
        "id": uid,
        "username": username,
        "is_active": bool(is_active),
        "is_staff": bool(is_staff),
        "is_superuser": bool(is_superuser),
        "display_name": display_name,
    }
    memberships = [(r[2 + n], _json(r[3 + n]), *r[4 + n : -1]) for r in rows if r[2 + n] is not None]
    last_used_at = first[1]
    if last_used_at is not None and timezone.is_naive(last_used_at):  # SQLite stores UTC
        last_used_at = last_used_at.replace(tzinfo=UTC)
    entry = (now + ttl, got, memberships, first[0], last_used_at, first[-1])
    if ttl:
        if len(_RECENT) >= _RECENT_MAX:
            _RECENT.clear()
        _RECENT[digest] = entry
    return entry


def api_token_authenticate(plain: str) -> User | None:
    """The active user behind a token, or None — with the user's scope (Actor) built from
    the same single query (token ⋈ user ⟕ active memberships). Kept per process for a few
    seconds (see ``_RECENT``). Touches last_used_at at most once a minute."""
    if not plain or not plain.startswith(TOKEN_PREFIX):
        return None
    digest = _digest(plain)
    entry = _resolve(digest)
    if entry is None:
        return None
    _, got, memberships, token_id, last_used_at, scope = entry
    names = [f.attname for f in User._meta.concrete_fields if f.attname in got]  # from_db wants model order
    user = User.from_db(connection.alias, names, [got[k] for k in names])
    user._qinglang_actor = actor_from_memberships(got["id"], memberships)
    user.api_token_scope = scope  # enforced by core.api_support.TokenAuth (read: GET/HEAD only)
    now = timezone.now()
    if last_used_at is None or (now - last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)  # bookkeeping, not a domain write
        if digest in _RECENT:
            _RECENT[digest] = (*_RECENT[digest][:4], now, scope)
    return user


def _json(value):
    return json.loads(value) if isinstance(value, str | bytes) else value


def may_set_policy(user, division_code: str) -> bool:
    """Policy overrides: the platform admin anywhere; a regulator leader for a division
    within their own prefixes (a city leader may override the province's figure)."""
    a = actor_for(user)
    if a.is_platform_admin:
        return True
    if Role.REGULATOR_LEADER not in a.roles or not division_code:
        return False
    return any(division_code.startswith(p) for ps, _ in a.regulator for p in ps)


def policy_override(*, actor, key: str, division_code: str, value, basis: str, effective_from=None):
    """Set a division's own figure for a rule, if the actor may."""
    from qinglang.core.services import policy_set

    if not may_set_policy(actor, division_code):
        raise PermissionDeniedError(
            gettext_lazy("只有本级及上级监管领导或平台管理员可以设定本区划的政策参数")
        )
    return policy_set(
        actor=actor,
        key=key,
        division_code=division_code,
        value=value,
        basis=basis,
        effective_from=effective_from,
    )
