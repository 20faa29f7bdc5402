"""Institution end (机构端): an institution's own users keep its profile, sites, staff,
courses and training materials. Everything is read through the scoped selectors, so
another institution's pages are a 404."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from qinglang.core.errors import DomainError, NotFound
from qinglang.registry import selectors as registry
from qinglang.registry import services

from ..forms import CourseForm, MaterialForm, ProfileForm, SiteForm, StaffForm
from ..todo import org_landing, parent_landing
from .common import apply_errors, org_required, run_action


def _inst(request, pk: int):
    return registry.institution_get(actor=request.user, institution_id=pk)


@org_required
def org_home(request):
    insts = list(registry.institution_list(actor=request.user).order_by("id"))
    if len(insts) == 1:
        return redirect("portal:org_dashboard", pk=insts[0].pk)
    return render(request, "portal/org/home.html", {"institutions": insts})


@org_required
def org_dashboard(request, pk: int):
    inst = _inst(request, pk)
    ctx = {
        "inst": inst,
        "section": "dashboard",
        "landing": org_landing(request.user, inst.pk),
        "licences": registry.licence_list(actor=request.user, institution_id=pk),
        "n_sites": registry.site_list(actor=request.user, institution_id=pk).count(),
        "n_staff": registry.staff_list(actor=request.user, institution_id=pk)
        .filter(left_on__isnull=True)
        .count(),
        "n_courses": registry.course_list(actor=request.user, institution_id=pk).count(),
        "materials_rejected": registry.material_list(actor=request.user, institution_id=pk)
        .filter(status="rejected")
        .count(),
        "unqualified": [
            s
            for s in registry.staff_list(actor=request.user, institution_id=pk).filter(left_on__isnull=True)
            if s.lacks_qualification
        ],
    }
    return render(request, "portal/org/dashboard.html", ctx)


@org_required
def org_profile(request, pk: int):
    inst = _inst(request, pk)
    initial = {f: getattr(inst, f) for f in ProfileForm.base_fields}
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.institution_update(actor=request.user, institution_id=pk, data=form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "机构信息已保存")
            return redirect("portal:org_profile", pk=pk)
    return render(request, "portal/org/profile.html", {"inst": inst, "form": form, "section": "profile"})


# section -> (selector, form class, create service, success message, template)
_SECTIONS = {
    "sites": (registry.site_list, SiteForm, services.site_create, "场所已登记"),
    "staff": (registry.staff_list, StaffForm, services.staff_create, "从业人员已登记"),
    "courses": (registry.course_list, CourseForm, services.course_create, "课程已提交，等待审核"),
    "materials": (registry.material_list, MaterialForm, services.material_submit, "培训材料已提交审核"),
}


def _section(request, pk: int, section: str):
    inst = _inst(request, pk)
    selector, form_cls, create, ok = _SECTIONS[section]
    form = form_cls(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.service_data() if hasattr(form, "service_data") else dict(form.cleaned_data)
        try:
            create(actor=request.user, institution_id=pk, data=data)
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, ok)
            return redirect(f"portal:org_{section}", pk=pk)
    items = selector(actor=request.user, institution_id=pk)
    return render(
        request,
        f"portal/org/{section}.html",
        {"inst": inst, "items": items, "form": form, "section": section},
    )


@org_required
def org_sites(request, pk: int):
    return _section(request, pk, "sites")


@org_required
def org_staff(request, pk: int):
    return _section(request, pk, "staff")


@org_required
def org_courses(request, pk: int):
    return _section(request, pk, "courses")


@org_required
def org_materials(request, pk: int):
    return _section(request, pk, "materials")


@org_required
@require_POST
def org_material_resubmit(request, pk: int, material_id: int):
    _inst(request, pk)

    def act():
        if not registry.material_list(actor=request.user, institution_id=pk).filter(pk=material_id).exists():
            raise NotFound(_("培训材料"))
        services.material_resubmit(actor=request.user, material_id=material_id)

    run_action(request, act, "培训材料已重新提交审核")
    return redirect(reverse("portal:org_materials", args=[pk]))


def parent_home(request):
    from django.contrib.auth.views import redirect_to_login

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    from qinglang.accounts.scope import actor_for
    from qinglang.funds.selectors_parent import parent_summary

    is_parent = actor_for(request.user).is_parent
    summary = parent_summary(actor=request.user) if is_parent else None
    landing = parent_landing(request.user) if is_parent else None
    return render(request, "portal/parent/home.html", {"summary": summary, "landing": landing})
