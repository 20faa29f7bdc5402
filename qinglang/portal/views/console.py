"""Regulator console (监管端): home, the institution list and its export, the detail page,
registration and Excel import."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from qinglang.accounts.models import Role
from qinglang.accounts.scope import actor_for
from qinglang.core.crypto import decrypt
from qinglang.core.errors import DomainError
from qinglang.core.jobs import job_start, should_run_in_background
from qinglang.registry import selectors as registry
from qinglang.registry import services
from qinglang.registry.models import INSTITUTION_STATES

from ..forms import (
    ImportForm,
    InstitutionCreateForm,
    InstitutionFilterForm,
    LicenceForm,
    MaterialReviewForm,
    ReasonForm,
    TransitionForm,
)
from ..paging import paginate
from ..todo import console_landing
from .common import apply_errors, can_write, console_required, is_htmx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PER_PAGE = 50
TABS = [
    ("basic", _("基本信息")),
    ("licences", _("证照")),
    ("sites", _("场所")),
    ("staff", _("从业人员")),
    ("courses", _("课程")),
    ("materials", _("培训材料")),
    ("rules", _("合规")),
    ("history", _("历史")),
]


@login_required
def home(request):
    actor = actor_for(request.user)
    if actor.institution_ids and not (actor.is_platform_admin or actor.regulator):
        return redirect("portal:org_home")
    if actor.is_parent and actor.roles <= {Role.PARENT}:
        return redirect("portal:parent_home")
    if actor.bank_ids and not (actor.is_platform_admin or actor.regulator):
        return redirect("portal:bank_list")  # the bank's own end: its instructions and statements
    if not (actor.is_platform_admin or actor.regulator):
        return render(request, "portal/no_role.html")
    counts = registry.institution_counts(actor=request.user)
    return render(
        request, "portal/console/home.html", {"counts": counts, "landing": console_landing(request.user)}
    )


def _filtered(request):
    form = InstitutionFilterForm(request.GET or None)
    return form, registry.institution_list(actor=request.user, filters=form.to_filter())


@console_required
@require_GET
def institution_list(request):
    form, qs = _filtered(request)
    page = paginate(request, qs.order_by("id"), PER_PAGE)
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "portal/console/institution_list.html",
        {"form": form, "page": page, "query": params.urlencode(), "can_write": can_write(request.user)},
    )


@console_required
@require_GET
def institution_export(request):
    """Exactly the filtered list the user sees, never more than their scope."""
    from qinglang.registry.services import institution_export_xlsx

    form = InstitutionFilterForm(request.GET or None)
    resp = HttpResponse(
        institution_export_xlsx(actor=request.user, filters=form.to_filter()), content_type=XLSX
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    resp["Content-Disposition"] = f'attachment; filename="institutions-{stamp}.xlsx"'
    return resp


def _staff_rows(request, inst_id: int) -> list[dict]:
    show_full = registry.staff_may_see_resident_id(actor=request.user)
    rows = []
    for s in registry.staff_list(actor=request.user, institution_id=inst_id):
        rid = s.resident_id_masked
        if show_full and s.resident_id_encrypted:
            rid = decrypt(s.resident_id_encrypted)
        rows.append({"staff": s, "resident_id": rid})
    return rows


def _tab_context(request, inst, tab: str) -> dict:
    uid = request.user
    ctx: dict = {}
    if tab == "licences":
        ctx["licences"] = registry.licence_list(actor=uid, institution_id=inst.pk)
        ctx["licence_form"] = LicenceForm()
        ctx["today"] = timezone.localdate()
    elif tab == "sites":
        ctx["sites"] = registry.site_list(actor=uid, institution_id=inst.pk)
    elif tab == "staff":
        ctx["staff_rows"] = _staff_rows(request, inst.pk)
    elif tab == "courses":
        ctx["courses"] = registry.course_list(actor=uid, institution_id=inst.pk)
    elif tab == "materials":
        ctx["materials"] = registry.material_list(actor=uid, institution_id=inst.pk)
        ctx["review_form"] = MaterialReviewForm()
    elif tab == "rules":
        ctx["board"] = services.disclosure_board(inst)
        ctx["unvetted"] = services.staff_unvetted(inst)
        ctx["violations"] = registry.hours_violations(actor=uid, institution_id=inst.pk)[:200]
    elif tab == "history":
        ctx["events"] = registry.institution_history(actor=uid, institution_id=inst.pk)[:200]
        ctx["status_changes"] = registry.status_history(actor=uid, institution_id=inst.pk)
    return ctx


@console_required
@require_GET
def institution_detail(request, pk: int):
    inst = registry.institution_get(actor=request.user, institution_id=pk)
    tab = request.GET.get("tab", "basic")
    if tab not in dict(TABS):
        tab = "basic"
    ctx = {
        "inst": inst,
        "tab": tab,
        "tabs": TABS,
        "can_write": can_write(request.user),
        **_tab_context(request, inst, tab),
    }
    if tab == "basic":
        form = TransitionForm()
        form.fields["to_status"].choices = INSTITUTION_STATES.allowed(inst)
        ctx.update(transition_form=form, reason_form=ReasonForm())
    if is_htmx(request):
        return render(request, f"portal/console/tabs/{tab}.html", ctx)
    return render(request, "portal/console/institution_detail.html", ctx)


@console_required
def institution_create(request):
    form = InstitutionCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            inst = services.institution_create(actor=request.user, data=form.service_data())
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"已登记机构：{inst.name}")
            return redirect("portal:institution_detail", pk=inst.pk)
    return render(request, "portal/console/institution_form.html", {"form": form})


@console_required
def institution_import(request):
    """Upload an .xlsx of institutions: all rows are created, or none and a per-row report."""
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        from qinglang.registry.services import institution_import_xlsx

        upload = form.cleaned_data["file"]
        if should_run_in_background(upload_bytes=upload.size):  # thousands of rows: a job
            job = job_start(
                actor=request.user,
                kind="registry.import",
                title=f"批量导入机构：{upload.name}",
                handler="qinglang.portal.jobs.registry_import",
                data=upload.read(),
            )
            return redirect("portal:job", job_id=job.pk)
        try:
            result = institution_import_xlsx(actor=request.user, file_obj=form.cleaned_data["file"])
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
    return render(request, "portal/console/import.html", {"form": form, "result": result})


@console_required
@require_GET
def import_template(request):
    from qinglang.registry.xlsx import institution_template_xlsx

    try:  # the template's township drop-down lists the townships in the user's scope
        from qinglang.registry.services.import_checks import import_township_choices

        content = institution_template_xlsx(townships=import_township_choices(actor=request.user))
    except ImportError:
        content = institution_template_xlsx()
    resp = HttpResponse(content, content_type=XLSX)
    resp["Content-Disposition"] = 'attachment; filename="institution-import-template.xlsx"'
    return resp
