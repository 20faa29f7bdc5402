"""The administration API (``/api/admin/…``): a county's divisions, departments, accounts,
memberships and integration tokens. The platform admin everywhere; a regulator leader
within their own prefixes. Same services as the console pages, so the same rules and the
same audit trail; refusals are ``{code, message, detail}``."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from qinglang.core import services as core_services
from qinglang.core.errors import NotFound, PermissionDeniedError

from . import administration as adm
from .models import ApiToken, TokenScope
from .services import api_token_create, api_token_revoke

router = Router(tags=["admin"])


def require_admin(request) -> None:
    """The caller administers accounts (platform admin, regulator leader), or 403. Also used
    by the routes the registry and funds mount under ``/api/admin``."""
    if not adm.may_administer_accounts(request.user):
        raise PermissionDeniedError(_("只有平台管理员或监管领导可以管理账号、区划和部门"))


def _require_division(request, code: str) -> None:
    require_admin(request)
    if not adm.division_administered(request.user, code):
        raise NotFound(_("区划"))


# --- divisions -------------------------------------------------------------------------


class AdminDivisionOut(Schema):
    code: str
    name: str
    level: int
    parent_id: str | None
    full_name: str
    retired: bool


class AdminDivisionIn(Schema):
    code: str
    name: str


class AdminDivisionPatch(Schema):
    name: str | None = None
    retired: bool | None = None


class AdminRowErrorOut(Schema):
    row: int
    column: str
    message: str


class AdminDivisionImportOut(Schema):
    ok: bool
    added: list[str]
    renamed: list[str]
    errors: list[AdminRowErrorOut]


@router.get("/divisions", response=list[AdminDivisionOut], summary="Townships and communities administered")
def division_list(request: HttpRequest, under: str = ""):
    require_admin(request)
    qs = adm.divisions_administered(request.user)
    if under:
        qs = qs.filter(code__startswith=under)
    return list(qs[:5000])


@router.post(
    "/divisions", response={201: AdminDivisionOut}, summary="Add a township (9 digits) or community (12)"
)
def division_add(request: HttpRequest, payload: AdminDivisionIn):
    require_admin(request)
    problem = core_services.division_code_problem(payload.code)
    if problem:  # the shape of the code first: says what is wrong whoever asks
        raise ValidationError({"code": problem})
    prefixes = adm.administered_prefixes(request.user)
    under = next((p for p in prefixes if payload.code.startswith(p)), None)
    if under is None:
        raise PermissionDeniedError(format_lazy(_("区划代码{code}不在本人管辖范围内"), code=payload.code))
    d = core_services.division_add(
        actor=request.user, code=payload.code, name=payload.name, under=under or None
    )
    if len(d.code) == 9:
        core_services.department_ensure_for_division(actor=request.user, division_code=d.code)
    return Status(201, d)


@router.post(
    "/divisions/import",
    response=AdminDivisionImportOut,
    summary="Townships and communities from the template",
)
def division_import(request: HttpRequest, county_code: Form[str], file: File[UploadedFile]):
    _require_division(request, county_code)
    r = core_services.division_import_xlsx(actor=request.user, county_code=county_code, file_obj=file)
    return {"ok": not r["errors"], **r}


@router.patch("/divisions/{code}", response=AdminDivisionOut, summary="Rename, retire or restore a division")
def division_change(request: HttpRequest, code: str, payload: AdminDivisionPatch):
    _require_division(request, code)
    d = None
    with transaction.atomic():  # both changes or neither: a refused retire undoes the rename
        if payload.name is not None:
            d = core_services.division_rename(actor=request.user, code=code, name=payload.name)
        if payload.retired is not None:
            d = core_services.division_retire(actor=request.user, code=code, retired=payload.retired)
    return d or adm.divisions_administered(request.user).get(code=code)


# --- departments -----------------------------------------------------------------------


class AdminDepartmentOut(Schema):
    id: int
    division_id: str
    kind: str
    kind_label: str
    name: str
    phone: str
    address: str
    email: str
    person_in_charge: str
    person_in_charge_phone: str

    @staticmethod
    def resolve_kind_label(obj):
        return obj.get_kind_display()


class AdminDepartmentIn(Schema):
    division_code: str
    kind: str
    name: str = ""


class AdminDepartmentPatch(Schema):
    name: str | None = None
    phone: str | None = None
    address: str | None = None
    email: str | None = None
    person_in_charge: str | None = None
    person_in_charge_phone: str | None = None


@router.get("/departments", response=list[AdminDepartmentOut], summary="Departments administered")
def department_list(request: HttpRequest, division: str = ""):
    require_admin(request)
    qs = adm.departments_administered(request.user)
    if division:
        qs = qs.filter(division__code__startswith=division)
    return list(qs[:5000])


@router.post("/departments", response={201: AdminDepartmentOut}, summary="Add a department")
def department_create(request: HttpRequest, payload: AdminDepartmentIn):
    _require_division(request, payload.division_code)
    return Status(
        201,
        core_services.department_create(
            actor=request.user, division_code=payload.division_code, kind=payload.kind, name=payload.name
        ),
    )


@router.patch(
    "/departments/{department_id}",
    response=AdminDepartmentOut,
    summary="Rename; contact details; person in charge",
)
def department_update(request: HttpRequest, department_id: int, payload: AdminDepartmentPatch):
    require_admin(request)
    if not adm.departments_administered(request.user).filter(pk=department_id).exists():
        raise NotFound(_("部门"))
    data = payload.dict(exclude_none=True)
    return core_services.department_update(actor=request.user, department_id=department_id, data=data)


# --- accounts --------------------------------------------------------------------------


class AdminMembershipOut(Schema):
    id: int
    role: str
    role_label: str
    division_prefixes: list[str]
    department_kind: str
    institution_id: int | None
    bank_id: int | None
    active: bool

    @staticmethod
    def resolve_role_label(obj):
        return obj.get_role_display()


class AdminUserOut(Schema):
    id: int
    username: str
    display_name: str
    phone: str
    division_code: str
    is_active: bool
    must_change_password: bool
    memberships: list[AdminMembershipOut]

    @staticmethod
    def resolve_memberships(obj):
        return list(obj.memberships.all())


class AdminStaffIn(Schema):
    username: str = ""  # default: the mobile number
    display_name: str
    phone: str
    role: str
    division_code: str  # where the account is administered and (default) its scope
    division_prefixes: list[str] | None = None
    department_kind: str = ""


class AdminCreatedOut(Schema):
    user: AdminUserOut
    initial_password: str  # shown once; the user must change it at first login


class AdminMembershipIn(Schema):
    role: str
    division_prefixes: list[str] = []
    department_kind: str = ""


class AdminStaffImportOut(Schema):
    ok: bool
    errors: list[AdminRowErrorOut]
    created: list[AdminCreatedOut]


@router.get("/users", response=list[AdminUserOut], summary="Accounts administered")
def user_list(request: HttpRequest, q: str = ""):
    require_admin(request)
    return list(adm.users_administered(request.user, q=q)[:1000])


@router.post(
    "/users", response={201: AdminCreatedOut}, summary="Create a staff account (initial password shown once)"
)
def user_create(request: HttpRequest, payload: AdminStaffIn):
    require_admin(request)
    user, plain = adm.staff_account_create(
        actor=request.user,
        username=payload.username or payload.phone,
        display_name=payload.display_name,
        phone=payload.phone,
        role=payload.role,
        division_code=payload.division_code,
        division_prefixes=payload.division_prefixes,
        department_kind=payload.department_kind,
    )
    return Status(201, {"user": adm.user_get(request.user, user.pk), "initial_password": plain})


@router.post(
    "/users/import", response=AdminStaffImportOut, summary="Staff accounts from an .xlsx (all or nothing)"
)
def user_import(request: HttpRequest, county_code: Form[str], file: File[UploadedFile]):
    _require_division(request, county_code)
    r = adm.staff_import_xlsx(actor=request.user, county_code=county_code, file_obj=file)
    return {
        "ok": r.ok,
        "errors": r.errors,
        "created": [{"user": u, "initial_password": p} for u, p in r.created],
    }


@router.get("/users/{user_id}", response=AdminUserOut, summary="One account")
def user_detail(request: HttpRequest, user_id: int):
    require_admin(request)
    return adm.user_get(request.user, user_id)


@router.post("/users/{user_id}/deactivate", response=AdminUserOut, summary="Deactivate an account")
def user_deactivate(request: HttpRequest, user_id: int):
    require_admin(request)
    adm.user_set_active(actor=request.user, user_id=user_id, active=False)
    return adm.user_get(request.user, user_id)


@router.post("/users/{user_id}/activate", response=AdminUserOut, summary="Reactivate an account")
def user_activate(request: HttpRequest, user_id: int):
    require_admin(request)
    adm.user_set_active(actor=request.user, user_id=user_id, active=True)
    return adm.user_get(request.user, user_id)


@router.post(
    "/users/{user_id}/reset-password",
    response=AdminCreatedOut,
    summary="One-time password; change at next login",
)
def user_reset_password(request: HttpRequest, user_id: int):
    require_admin(request)
    user, plain = adm.user_reset_password(actor=request.user, user_id=user_id)
    return {"user": adm.user_get(request.user, user.pk), "initial_password": plain}


@router.post(
    "/users/{user_id}/memberships", response={201: AdminMembershipOut}, summary="Grant a role with its scope"
)
def membership_add(request: HttpRequest, user_id: int, payload: AdminMembershipIn):
    require_admin(request)
    m = adm.membership_add(
        actor=request.user,
        user_id=user_id,
        role=payload.role,
        division_prefixes=payload.division_prefixes,
        department_kind=payload.department_kind,
    )
    return Status(201, m)


@router.delete("/memberships/{membership_id}", response=AdminMembershipOut, summary="Withdraw a membership")
def membership_withdraw(request: HttpRequest, membership_id: int):
    require_admin(request)
    return adm.membership_withdraw(actor=request.user, membership_id=membership_id)


# --- integration tokens ----------------------------------------------------------------


class AdminTokenOut(Schema):
    id: int
    name: str
    scope: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class AdminTokenIn(Schema):
    name: str
    scope: str = TokenScope.READ_WRITE


class AdminTokenCreatedOut(AdminTokenOut):
    token: str  # shown once, never stored


@router.get(
    "/users/{user_id}/tokens", response=list[AdminTokenOut], summary="An account's integration tokens"
)
def token_list(request: HttpRequest, user_id: int):
    require_admin(request)
    return list(adm.tokens_of(request.user, adm.user_get(request.user, user_id)))


@router.post(
    "/users/{user_id}/tokens", response={201: AdminTokenCreatedOut}, summary="Create a token (shown once)"
)
def token_create(request: HttpRequest, user_id: int, payload: AdminTokenIn):
    require_admin(request)
    tok, plain = api_token_create(
        actor=request.user, user=adm.user_get(request.user, user_id), name=payload.name, scope=payload.scope
    )
    return Status(201, {**AdminTokenOut.from_orm(tok).dict(), "token": plain})


@router.delete("/tokens/{token_id}", response=AdminTokenOut, summary="Revoke a token")
def token_revoke(request: HttpRequest, token_id: int):
    require_admin(request)
    tok = ApiToken.objects.select_related("user").filter(pk=token_id).first()
    if tok is None or not adm.users_administered(request.user).filter(pk=tok.user_id).exists():
        raise NotFound(_("接口令牌"))
    return api_token_revoke(actor=request.user, token=tok)
