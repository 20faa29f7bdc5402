"""A county's account administration: staff accounts (one by one or from an .xlsx),
deactivation, password resets, memberships granted and withdrawn, and the reads the
administration pages and API show. The platform admin administers everyone; a regulator
leader the accounts of their own prefixes (``services.may_administer``), and grants only
what ``services.check_grant`` allows. Every write is audited."""

import secrets
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.i18n import chinese_label, chinese_labels
from qinglang.core.models import Department, DepartmentKind, Division, DivisionLevel
from qinglang.core.services import RowError
from qinglang.core.validators import validate_mobile
from qinglang.core.xlsx import Col, read_table, template_xlsx

from .models import ApiToken, Membership, Role, User
from .permissions import TOKEN_HOLDERS, has_role, is_system
from .scope import actor_for, restrict
from .services import (
    check_grant,
    leader_prefixes,
    may_administer,
    membership_grant,
    membership_revoke,
    tokens_changed,
    user_create,
)

ROLE_BY_LABEL = {label: value for value, label in chinese_labels(Role).items()}
KIND_BY_LABEL = {label: value for value, label in chinese_labels(DepartmentKind).items()}
STAFF_IMPORT_ROLES = (Role.REGULATOR_LEADER, Role.REGULATOR_OFFICER, Role.INSPECTOR, Role.GRID_WORKER)


def initial_password() -> str:
    """A one-time password an administrator hands over; the user must change it."""
    return "Ql-" + secrets.token_urlsafe(9)


# --- reads ----------------------------------------------------------------------------


def may_administer_accounts(user) -> bool:
    a = actor_for(user)
    return a.is_platform_admin or Role.REGULATOR_LEADER in a.roles


def administered_prefixes(user) -> list[str]:
    """Where ``user`` administers: [""] for the platform admin, their leader prefixes."""
    if actor_for(user).is_platform_admin:
        return [""]
    return sorted({p for p, _ in leader_prefixes(user)})


def users_administered(user, *, q: str = "") -> QuerySet[User]:
    """Accounts ``user`` administers (leaders: those under their leader prefixes)."""
    qs = User.objects.prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.order_by("-active", "id"))
    ).order_by("division_code", "username")
    prefixes = administered_prefixes(user)
    if prefixes != [""]:
        if not prefixes:
            return qs.none()
        cond = Q()
        for p in prefixes:
            cond |= Q(division_code__startswith=p)
        qs = restrict(qs, user).filter(cond).exclude(division_code="")
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(display_name__icontains=q) | Q(phone__icontains=q))
    return qs


def user_get(user, user_id: int) -> User:
    u = users_administered(user).filter(pk=user_id).first()
    if u is None:
        raise NotFound(gettext_lazy("账号"))
    return u


def divisions_administered(user, *, include_retired: bool = True) -> QuerySet[Division]:
    """Townships and communities under the counties ``user`` administers."""
    prefixes = administered_prefixes(user)
    qs = Division.objects.filter(level__gte=DivisionLevel.TOWNSHIP)
    if not include_retired:
        qs = qs.filter(retired=False)
    if prefixes == [""]:
        return qs
    if not prefixes:
        return qs.none()
    cond = Q()
    for p in prefixes:
        cond |= Q(code__startswith=p)
    return qs.filter(cond)


def division_administered(user, code: str) -> bool:
    prefixes = administered_prefixes(user)
    return any(code.startswith(p) for p in prefixes)


def departments_administered(user) -> QuerySet[Department]:
    prefixes = administered_prefixes(user)
    qs = Department.objects.select_related("division").order_by("division_id", "kind")
    if prefixes == [""]:
        return qs
    if not prefixes:
        return qs.none()
    cond = Q()
    for p in prefixes:
        cond |= Q(division__code__startswith=p)
    return qs.filter(cond)


def tokens_of(user, target: User) -> QuerySet[ApiToken]:
    if not may_administer(user, target):
        raise NotFound(gettext_lazy("账号"))
    return target.api_tokens.order_by("-created_at")


def tokens_own(user) -> QuerySet[ApiToken]:
    """A user's own API tokens, newest first (the page where they manage them)."""
    return ApiToken.objects.filter(user_id=user.pk).order_by("-created_at")


def may_hold_tokens(user) -> bool:
    return has_role(user, TOKEN_HOLDERS)


# --- writes ---------------------------------------------------------------------------


def _lock_user(actor, user_id: int) -> User:
    u = User.objects.select_for_update().filter(pk=user_id).first()
    if u is None or not may_administer(actor, u):
        raise NotFound(gettext_lazy("账号"))
    return u


def _check_home(actor, division_code: str) -> None:
    if is_system(actor) or actor_for(actor).is_platform_admin:
        return
    if not division_code or not any(division_code.startswith(p) for p, _ in leader_prefixes(actor)):
        raise PermissionDeniedError(gettext_lazy("只能在本人管辖的区划内创建账号"))


@transaction.atomic
def staff_account_create(
    *,
    actor,
    username: str,
    display_name: str,
    role: str,
    division_code: str,
    phone: str = "",
    division_prefixes: list[str] | None = None,
    department_kind: str = "",
    password: str | None = None,
) -> tuple[User, str]:
    """A regulator's account with its first membership; the initial password (generated
    unless given) is returned once and must be changed at first login."""
    if not (display_name or "").strip():
        raise ValidationError({"display_name": gettext_lazy("请填写姓名")})
    _check_home(actor, division_code)
    plain = password or initial_password()
    user = user_create(
        actor=actor,
        username=username,
        password=plain,
        display_name=display_name.strip(),
        phone=phone,
        division_code=division_code,
        must_change_password=password is None,
        check_password=password is not None,
    )
    membership_grant(
        actor=actor,
        user=user,
        role=role,
        division_prefixes=division_prefixes if division_prefixes is not None else [division_code],
        department_kind=department_kind,
    )
    return user, plain


@transaction.atomic
def user_set_active(*, actor, user_id: int, active: bool) -> User:
    """Deactivate (停用) or reactivate an account; a deactivated user cannot log in and
    their tokens stop working at once."""
    u = _lock_user(actor, user_id)
    if not is_system(actor) and u.pk == actor.pk and not active:
        raise DomainError("self_deactivate", gettext_lazy("不能停用自己的账号"))
    if u.is_active == active:
        return u
    u.is_active = active
    u.save(update_fields=["is_active"])
    tokens_changed()
    audit_record(
        actor=actor,
        action="user.activate" if active else "user.deactivate",
        obj=u,
        division_code=u.division_code,
        changes={"is_active": [not active, active]},
    )
    return u


@transaction.atomic
def user_reset_password(*, actor, user_id: int) -> tuple[User, str]:
    """Give the account a one-time password (returned once); the user must change it at
    the next login."""
    u = _lock_user(actor, user_id)
    plain = initial_password()
    u.set_password(plain)
    u.must_change_password = True
    u.save(update_fields=["password", "must_change_password"])
    audit_record(
        actor=actor,
        action="user.reset_password",
        obj=u,
        division_code=u.division_code,
        changes={"must_change_password": True},
    )
    return u, plain


@transaction.atomic
def password_changed(*, user: User) -> None:
    """The user chose their own password (the form has saved it)."""
    User.objects.filter(pk=user.pk).update(must_change_password=False)
    user.must_change_password = False
    audit_record(
        actor=user, action="user.change_password", obj=user, division_code=user.division_code, changes={}
    )


@transaction.atomic
def membership_add(
    *,
    actor,
    user_id: int,
    role: str,
    division_prefixes: list[str] | None = None,
    department_kind: str = "",
    institution_id: int | None = None,
    bank_id: int | None = None,
) -> Membership:
    """Grant a membership to an account the actor administers (institution and bank ids
    are checked by the page or API that offers them, which live above accounts)."""
    u = _lock_user(actor, user_id)
    if role not in Role.values:
        raise ValidationError({"role": format_lazy(gettext_lazy("角色不存在：{role}"), role=role)})
    return membership_grant(
        actor=actor,
        user=u,
        role=role,
        division_prefixes=division_prefixes,
        department_kind=department_kind,
        institution_id=institution_id,
        bank_id=bank_id,
    )


@transaction.atomic
def membership_withdraw(*, actor, membership_id: int) -> Membership:
    """Withdraw (撤销) a membership; it stops counting on the user's next request."""
    m = Membership.objects.select_for_update().select_related("user").filter(pk=membership_id).first()
    if m is None or not may_administer(actor, m.user):
        raise NotFound(gettext_lazy("角色授权"))
    if not is_system(actor) and not actor_for(actor).is_platform_admin:
        # withdrawing is refused where granting would be: no reaching above one's own role
        check_grant(
            actor,
            role=m.role,
            division_prefixes=m.division_prefixes,
            department_kind=m.department_kind,
            bank_id=m.bank_id,
        )
    if not m.active:
        return m
    return membership_revoke(actor=actor, membership=m)


# --- staff accounts from an .xlsx ------------------------------------------------------

STAFF_COLUMNS = [
    Col("姓名", "name", help="工作人员姓名", width=12),
    Col("手机号码", "mobile", help="11位手机号码，同时作为登录用户名；不能与已有账号重复", width=16),
    Col(
        "角色",
        "role",
        help="监管领导、监管人员、执法检查人员或网格员",
        width=14,
        choices=tuple(chinese_label(Role, r) for r in STAFF_IMPORT_ROLES),
    ),
    Col(
        "部门",
        "department",
        required=False,
        help="所在部门，如“教育局”；留空表示不限部门",
        width=22,
        choices=tuple(
            label
            for k, label in chinese_labels(DepartmentKind).items()
            if k != DepartmentKind.TOWNSHIP_GOVERNMENT
        ),
    ),
    Col(
        "乡镇(街道)",
        "township",
        required=False,
        help="乡镇(街道)名称或9位代码；留空表示全县。网格员必填",
        width=20,
    ),
]


def staff_template_xlsx() -> bytes:
    return template_xlsx(
        title="工作人员",
        columns=STAFF_COLUMNS,
        example=[
            ["张三", "13800000001", "监管人员", "教育局", ""],
            ["李四", "13800000002", "网格员", "", "城关镇"],
        ],
        notes=[
            "每行一个账号。全部行无误时才会创建；有任何错误则一个也不创建，并逐行列出错误(行号即 Excel 中的行号，表头为第1行)。",
            "创建后每个账号获得一个初始密码，仅显示一次；首次登录须修改密码。",
            "请删除示例行后再填写。",
        ],
    )


@dataclass
class StaffImportResult:
    errors: list[RowError] = field(default_factory=list)
    created: list[tuple[User, str]] = field(default_factory=list)  # (user, initial password)

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_mobile_or_blank(value: str) -> str:
    try:
        return validate_mobile(value)
    except ValidationError:
        return ""


def _department_kind(text: str, county: Division) -> str | None:
    if not text:
        return ""
    if text in KIND_BY_LABEL:
        return KIND_BY_LABEL[text]
    if text in DepartmentKind.values:
        return text
    dep = Department.objects.filter(division=county, name=text).first()
    return dep.kind if dep else None


def _township(text: str, county: Division) -> Division | None:
    qs = Division.objects.filter(code__startswith=county.code, level=DivisionLevel.TOWNSHIP, retired=False)
    return qs.filter(code=text).first() if text.isdigit() else qs.filter(name=text).first()


def staff_import_xlsx(*, actor, county_code: str, file_obj) -> StaffImportResult:
    """Create the staff accounts listed in an .xlsx (template: ``staff_template_xlsx``).
    All rows are checked first, permissions included; any error → nothing is created."""
    county = Division.objects.filter(code=county_code, level=DivisionLevel.COUNTY).first()
    if county is None:
        raise DomainError(
            "unknown_division",
            format_lazy(gettext_lazy("县级区划代码不存在：{county_code}"), county_code=county_code),
            {"code": county_code},
        )
    _check_home(actor, county_code)
    rows = read_table(file_obj, STAFF_COLUMNS)
    result = StaffImportResult()
    plan = []
    seen: dict[str, int] = {}
    listed = [validate_mobile_or_blank(r["mobile"]) for _, r in rows]
    taken = {
        v
        for pair in User.objects.filter(Q(username__in=listed) | Q(phone__in=listed)).values_list(
            "username", "phone"
        )
        for v in pair
    }
    for n, r in rows:
        errs = len(result.errors)
        if not r["name"]:
            result.errors.append(RowError(n, "姓名", "请填写姓名"))
        mobile = validate_mobile_or_blank(r["mobile"])
        if not mobile:
            result.errors.append(RowError(n, "手机号码", f"手机号码无效：{r['mobile'] or '(空)'}"))
        if mobile:
            if mobile in seen:
                result.errors.append(RowError(n, "手机号码", f"手机号码与第{seen[mobile]}行重复：{mobile}"))
            elif mobile in taken:
                result.errors.append(RowError(n, "手机号码", f"手机号码已被其他账号使用：{mobile}"))
            seen.setdefault(mobile, n)
        role = ROLE_BY_LABEL.get(r["role"], r["role"])
        if role not in STAFF_IMPORT_ROLES:
            result.errors.append(
                RowError(
                    n,
                    "角色",
                    f"角色不存在：{r['role'] or '(空)'}。可填：监管领导、监管人员、执法检查人员、网格员",
                )
            )
        kind = _department_kind(r["department"], county)
        if kind is None:
            result.errors.append(RowError(n, "部门", f"部门不存在：{r['department']}"))
        township = None
        if r["township"]:
            township = _township(r["township"], county)
            if township is None:
                result.errors.append(
                    RowError(n, "乡镇(街道)", f"{county.name}没有这个乡镇(街道)：{r['township']}")
                )
        elif role == Role.GRID_WORKER:
            result.errors.append(RowError(n, "乡镇(街道)", "网格员须填写所在乡镇(街道)"))
        if len(result.errors) > errs:
            continue
        prefix = township.code if township else county.code
        try:
            check_grant(actor, role=role, division_prefixes=[prefix], department_kind=kind)
        except PermissionDeniedError as exc:
            result.errors.append(RowError(n, "角色", exc.chinese_message))
            continue
        plan.append((n, r["name"], mobile, role, kind, prefix))
    if result.errors:
        return result
    with transaction.atomic():
        for _n, name, mobile, role, kind, prefix in plan:
            user, plain = staff_account_create(
                actor=actor,
                username=mobile,
                display_name=name,
                phone=mobile,
                role=role,
                division_code=prefix,
                division_prefixes=[prefix],
                department_kind=kind,
            )
            result.created.append((user, plain))
    return result
