"""Administration pages of the console (系统管理): a county's townships and communities,
departments, staff accounts and their roles, integration tokens, and institution admin
invitations. For the platform admin (everywhere) and regulator leaders (within their own
prefixes); every change goes through the audited services of accounts and core."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from qinglang.accounts import administration as adm
from qinglang.accounts.models import INSTITUTION_ROLES, ApiToken, Role
from qinglang.accounts.services import api_token_create, api_token_revoke
from qinglang.core import services as core_services
from qinglang.core.errors import DomainError
from qinglang.core.models import Division, DivisionLevel
from qinglang.core.xlsx import XLSX_CONTENT_TYPE

from .. import forms_admin as f
from .common import apply_errors, error_text, run_action


def admin_required(view):
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not adm.may_administer_accounts(request.user):
            raise PermissionDenied(_("无权访问此页面"))
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def counties_administered(user):
    prefixes = adm.administered_prefixes(user)
    qs = Division.objects.filter(level=DivisionLevel.COUNTY)
    if prefixes == [""]:
        return qs.filter(departments__isnull=False).distinct().order_by("code")
    return qs.filter(code__in={p[:6] for p in prefixes if len(p) >= 6}).order_by("code")


def _county_check(request, code: str) -> None:
    if not adm.division_administered(request.user, code):
        raise Http404(_("区划不存在或无权查看"))


# --- overview and divisions --------------------------------------------------------------


@admin_required
def admin_home(request):
    counties = list(counties_administered(request.user))
    rows = []
    for c in counties:
        rows.append(
            {
                "county": c,
                "townships": adm.divisions_administered(request.user)
                .filter(code__startswith=c.code, level=DivisionLevel.TOWNSHIP, retired=False)
                .count(),
                "departments": adm.departments_administered(request.user)
                .filter(division__code__startswith=c.code)
                .count(),
                "users": adm.users_administered(request.user)
                .filter(division_code__startswith=c.code)
                .count(),
            }
        )
    return render(request, "portal/admin/home.html", {"rows": rows})


@admin_required
def division_list(request):
    counties = list(counties_administered(request.user))
    add_form = f.DivisionAddForm(request.POST or None)
    if request.method == "POST" and add_form.is_valid():
        code = add_form.cleaned_data["code"].strip()
        under = next((p for p in adm.administered_prefixes(request.user) if code.startswith(p)), None)
        if under is None:
            add_form.add_error("code", _("区划代码%(code)s不在本人管辖的区划之下") % {"code": code})
        else:
            try:
                d = core_services.division_add(
                    actor=request.user, code=code, name=add_form.cleaned_data["name"], under=under or None
                )
                if d.level == DivisionLevel.TOWNSHIP:
                    core_services.department_ensure_for_division(actor=request.user, division_code=d.code)
            except (DomainError, ValidationError) as exc:
                apply_errors(add_form, exc)
            else:
                messages.success(request, _("已添加：%(code)s %(name)s") % {"code": d.code, "name": d.name})
                return redirect("portal:admin_divisions")
    import_form = f.DivisionImportForm()
    import_form.set_counties(counties)
    divisions = adm.divisions_administered(request.user).order_by("code")
    return render(
        request,
        "portal/admin/divisions.html",
        {"divisions": divisions, "add_form": add_form, "import_form": import_form, "counties": counties},
    )


@admin_required
@require_POST
def division_change(request, code: str):
    _county_check(request, code)
    if not adm.divisions_administered(request.user).filter(code=code).exists():
        raise Http404(_("区划不存在或无权查看"))
    form = f.DivisionRenameForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("操作未完成：请求不完整"))
        return redirect("portal:admin_divisions")
    op, name = form.cleaned_data["op"], form.cleaned_data["name"]
    if op == "rename":
        run_action(
            request,
            lambda: core_services.division_rename(actor=request.user, code=code, name=name),
            _("已改名为%(name)s") % {"name": name},
        )
    else:
        retired = op == "retire"
        run_action(
            request,
            lambda: core_services.division_retire(actor=request.user, code=code, retired=retired),
            _("已撤销") if retired else _("已恢复"),
        )
    return redirect("portal:admin_divisions")


@admin_required
def division_import(request):
    counties = list(counties_administered(request.user))
    form = f.DivisionImportForm(request.POST or None, request.FILES or None)
    form.set_counties(counties)
    result = None
    if request.method == "POST" and form.is_valid():
        county = form.cleaned_data["county"]
        _county_check(request, county)
        try:
            result = core_services.division_import_xlsx(
                actor=request.user, county_code=county, file_obj=form.cleaned_data["file"]
            )
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
    return render(request, "portal/admin/division_import.html", {"form": form, "result": result})


@admin_required
@require_GET
def division_template(request):
    counties = list(counties_administered(request.user))
    resp = HttpResponse(
        core_services.division_template_xlsx(counties[0] if counties else None),
        content_type=XLSX_CONTENT_TYPE,
    )
    resp["Content-Disposition"] = 'attachment; filename="division-template.xlsx"'
    return resp


# --- departments ------------------------------------------------------------------------


@admin_required
def department_list(request):
    counties = list(counties_administered(request.user))
    form = f.DepartmentAddForm(request.POST or None)
    form.set_counties(counties)
    if request.method == "POST" and form.is_valid():
        county = form.cleaned_data["county"]
        _county_check(request, county)
        try:
            dep = core_services.department_create(
                actor=request.user,
                division_code=county,
                kind=form.cleaned_data["kind"],
                name=form.cleaned_data["name"],
            )
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已添加部门：%(name)s") % {"name": dep.name})
            return redirect("portal:admin_departments")
    departments = adm.departments_administered(request.user)
    return render(request, "portal/admin/departments.html", {"departments": departments, "form": form})


@admin_required
def department_edit(request, department_id: int):
    dep = adm.departments_administered(request.user).filter(pk=department_id).first()
    if dep is None:
        raise Http404(_("部门不存在或无权查看"))
    initial = {k: getattr(dep, k) for k in core_services.DEPARTMENT_CONTACT_FIELDS}
    form = f.DepartmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            core_services.department_update(actor=request.user, department_id=dep.pk, data=form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("portal:admin_departments")
    return render(request, "portal/admin/department_edit.html", {"department": dep, "form": form})


# --- accounts ---------------------------------------------------------------------------


def _banks(user) -> list:
    """Custody banks the user may attach a bank operator to (a leader: their prefixes')."""
    from qinglang.funds.services import banks_administered

    return list(banks_administered(user))


def _created(request, pairs) -> None:
    """Initial passwords are shown once, on the next page."""
    request.session["admin_created"] = [[u.username, u.display_name, p] for u, p in pairs]


def _pop_created(request):
    return request.session.pop("admin_created", None)


@admin_required
def user_list(request):
    q = request.GET.get("q", "").strip()
    users = adm.users_administered(request.user, q=q)[:500]
    return render(
        request, "portal/admin/users.html", {"users": users, "q": q, "created": _pop_created(request)}
    )


@admin_required
def user_create(request):
    counties = list(counties_administered(request.user))
    form = f.StaffCreateForm(request.POST or None)
    form.set_counties(counties)
    county = (form["county"].value() if form.is_bound else "") or (counties[0].code if counties else "")
    form.set_townships(
        adm.divisions_administered(request.user, include_retired=False).filter(
            code__startswith=county[:6], level=DivisionLevel.TOWNSHIP
        )
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        _county_check(request, d["county"])
        where = d["township"] or d["county"]
        try:
            user, plain = adm.staff_account_create(
                actor=request.user,
                username=d["phone"],
                display_name=d["display_name"],
                phone=d["phone"],
                role=d["role"],
                division_code=where,
                department_kind=d["department_kind"],
            )
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            _created(request, [(user, plain)])
            return redirect("portal:admin_user_detail", user_id=user.pk)
    return render(request, "portal/admin/user_form.html", {"form": form})


@admin_required
def user_import(request):
    counties = list(counties_administered(request.user))
    form = f.StaffImportForm(request.POST or None, request.FILES or None)
    form.set_counties(counties)
    result = None
    if request.method == "POST" and form.is_valid():
        county = form.cleaned_data["county"]
        _county_check(request, county)
        try:
            result = adm.staff_import_xlsx(
                actor=request.user, county_code=county, file_obj=form.cleaned_data["file"]
            )
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            if result.ok:
                _created(request, result.created)
                messages.success(request, _("已创建%(n)s个账号") % {"n": len(result.created)})
                return redirect("portal:admin_users")
    return render(request, "portal/admin/user_import.html", {"form": form, "result": result})


@admin_required
@require_GET
def user_template(request):
    resp = HttpResponse(adm.staff_template_xlsx(), content_type=XLSX_CONTENT_TYPE)
    resp["Content-Disposition"] = 'attachment; filename="staff-template.xlsx"'
    return resp


def _name_places(user, memberships, banks) -> None:
    """Each membership's institution or bank by name (``place``), as far as the
    administrator may see it."""
    from qinglang.registry.selectors import institution_list

    ids = {m.institution_id for m in memberships if m.institution_id}
    names = dict(institution_list(actor=user).filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    bank_names = {b.pk: b.name for b in banks}
    for m in memberships:
        m.place = names.get(m.institution_id) or bank_names.get(m.bank_id) or ""


@admin_required
def user_detail(request, user_id: int):
    target = adm.user_get(request.user, user_id)
    token_plain = request.session.pop("admin_token", None)
    banks = _banks(request.user)
    memberships = list(target.memberships.order_by("-active", "id"))
    _name_places(request.user, memberships, banks)
    return render(
        request,
        "portal/admin/user_detail.html",
        {
            "target": target,
            "memberships": memberships,
            "tokens": adm.tokens_of(request.user, target),
            "grant_form": f.GrantForm(initial={"division_code": target.division_code}, banks=banks),
            "token_form": f.TokenCreateForm(),
            "created": _pop_created(request),
            "token_plain": token_plain,
        },
    )


@admin_required
@require_POST
def user_action(request, user_id: int):
    """deactivate / activate / reset / grant / token, posted from the account's page."""
    target = adm.user_get(request.user, user_id)
    op = request.POST.get("op", "")
    me = request.user
    if op in ("deactivate", "activate"):
        run_action(
            request,
            lambda: adm.user_set_active(actor=me, user_id=target.pk, active=op == "activate"),
            _("已启用") if op == "activate" else _("已停用"),
        )
    elif op == "reset":
        try:
            _user, plain = adm.user_reset_password(actor=me, user_id=target.pk)
        except (DomainError, ValidationError) as exc:
            messages.error(request, _("操作未完成：%(reason)s") % {"reason": error_text(exc)})
        else:
            _created(request, [(target, plain)])
    elif op == "grant":
        banks = _banks(me)
        form = f.GrantForm(request.POST, banks=banks)
        if not form.is_valid():
            messages.error(request, _("操作未完成：请填写角色和管辖区划"))
        else:
            d = form.cleaned_data
            if d["role"] == Role.BANK_OPERATOR:
                from qinglang.funds.services import bank_operator_grant

                run_action(
                    request,
                    lambda: bank_operator_grant(actor=me, bank_id=d.get("bank") or 0, user_id=target.pk),
                    _("已授权"),
                )
            elif d["role"] in INSTITUTION_ROLES:
                run_action(request, lambda: _institution_grant(me, target, d), _("已授权"))
            else:
                code = d["division_code"].strip()
                run_action(
                    request,
                    lambda: adm.membership_add(
                        actor=me,
                        user_id=target.pk,
                        role=d["role"],
                        division_prefixes=[code] if code else [],
                        department_kind=d["department_kind"],
                    ),
                    _("已授权"),
                )
    elif op == "token":
        form = f.TokenCreateForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("操作未完成：请填写令牌用途和权限范围"))
        else:
            try:
                tok, plain = api_token_create(
                    actor=me, user=target, name=form.cleaned_data["name"], scope=form.cleaned_data["scope"]
                )
            except (DomainError, ValidationError) as exc:
                messages.error(request, _("操作未完成：%(reason)s") % {"reason": error_text(exc)})
            else:
                request.session["admin_token"] = [tok.name, plain]
    else:
        messages.error(request, _("操作未完成：未知操作"))
    return redirect("portal:admin_user_detail", user_id=target.pk)


def _institution_grant(me, target, d):
    """An institution role for an existing account: the institution named by its name or
    统一社会信用代码, looked up within the administrator's own scope."""
    from django.db.models import Q

    from qinglang.registry.selectors import institution_list
    from qinglang.registry.services import institution_member_grant

    named = d["institution"].strip()
    if not named:
        raise ValidationError({"institution": _("机构角色须填写机构名称或统一社会信用代码")})
    found = list(
        institution_list(actor=me).filter(Q(uscc=named) | Q(name=named)).values_list("pk", flat=True)[:2]
    )
    if not found:
        raise ValidationError(
            {"institution": _("未找到机构“%(name)s”，或不在本人管辖范围内") % {"name": named}}
        )
    if len(found) > 1:
        raise ValidationError(
            {"institution": _("有多个机构名为“%(name)s”，请填写统一社会信用代码") % {"name": named}}
        )
    return institution_member_grant(actor=me, institution_id=found[0], user_id=target.pk, role=d["role"])


@admin_required
@require_POST
def membership_withdraw(request, membership_id: int):
    m = adm.users_administered(request.user).filter(memberships__pk=membership_id).first()
    if m is None:
        raise Http404(_("角色授权不存在或无权查看"))
    run_action(
        request,
        lambda: adm.membership_withdraw(actor=request.user, membership_id=membership_id),
        _("已撤销授权"),
    )
    return redirect("portal:admin_user_detail", user_id=m.pk)


@admin_required
@require_POST
def token_revoke(request, token_id: int):
    tok = ApiToken.objects.select_related("user").filter(pk=token_id).first()
    if tok is None or not adm.users_administered(request.user).filter(pk=tok.user_id).exists():
        raise Http404(_("接口令牌不存在或无权查看"))
    run_action(request, lambda: api_token_revoke(actor=request.user, token=tok), _("令牌已吊销"))
    return redirect("portal:admin_user_detail", user_id=tok.user_id)


# --- institution administrators ----------------------------------------------------------


@admin_required
def institution_invite(request, institution_id: int):
    """Create the institution's administrator login from its registry record, with a
    one-time password to hand over (changed at first login)."""
    from qinglang.registry.selectors import institution_get
    from qinglang.registry.services import institution_admin_invite

    inst = institution_get(actor=request.user, institution_id=institution_id)
    form = f.InviteForm(request.POST or None, initial={"display_name": inst.legal_representative})
    if request.method == "POST" and form.is_valid():
        try:
            user, plain = institution_admin_invite(
                actor=request.user,
                institution_id=inst.pk,
                username=form.cleaned_data["username"],
                display_name=form.cleaned_data["display_name"],
            )
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            _created(request, [(user, plain)])
            return redirect("portal:admin_user_detail", user_id=user.pk)
    return render(request, "portal/admin/invite.html", {"institution": inst, "form": form})
