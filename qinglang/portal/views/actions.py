"""Regulator actions on an institution (POST only), the white and black list pages and the
policy page. Each action parses a form, calls one service and redirects back."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from qinglang.accounts.services import may_set_policy, policy_override
from qinglang.core.errors import DomainError, NotFound
from qinglang.core.selectors import division_get, policy_effective
from qinglang.registry import selectors as registry
from qinglang.registry import services
from qinglang.registry.models import ListKind

from ..form_fields import DivisionPickForm
from ..forms import (
    CourseReviewForm,
    LicenceForm,
    MaterialReviewForm,
    PolicyOverrideForm,
    ReasonForm,
    TransitionForm,
)
from .common import apply_errors, can_write, console_required, form_invalid, run_action


def _back(pk: int, tab: str = "basic"):
    return redirect(reverse("portal:institution_detail", args=[pk]) + f"?tab={tab}")


@console_required
@require_POST
def institution_transition(request, pk: int):
    form = TransitionForm(request.POST)
    if not form.is_valid():
        form_invalid(request, form)
    else:
        d = form.cleaned_data
        run_action(
            request,
            lambda: services.institution_transition(
                actor=request.user, institution_id=pk, to_status=d["to_status"], reason=d["reason"]
            ),
            "办学状态已变更",
        )
    return _back(pk)


_LIST_ACTIONS = {
    ("white", "add"): (services.whitelist_add, "已列入白名单"),
    ("white", "remove"): (services.whitelist_remove, "已移出白名单"),
    ("black", "add"): (services.blacklist_add, "已列入黑名单"),
    ("black", "remove"): (services.blacklist_remove, "已移出黑名单"),
}


@console_required
@require_POST
def institution_list_action(request, pk: int, kind: str, op: str):
    if (kind, op) not in _LIST_ACTIONS:
        raise Http404()
    fn, ok = _LIST_ACTIONS[(kind, op)]
    form = ReasonForm(request.POST)
    if not form.is_valid():
        form_invalid(request, form)
    else:
        run_action(
            request, lambda: fn(actor=request.user, institution_id=pk, reason=form.cleaned_data["reason"]), ok
        )
    nxt = request.POST.get("next", "")
    if nxt in (reverse("portal:list_white"), reverse("portal:list_black")):
        return redirect(nxt)
    return _back(pk)


@console_required
@require_POST
def licence_set(request, pk: int):
    form = LicenceForm(request.POST)
    if not form.is_valid():
        form_invalid(request, form)
    else:

        def act():
            lic = services.licence_set(actor=request.user, institution_id=pk, **form.cleaned_data)
            for finding in lic.findings:  # a business scope held for review
                messages.warning(request, finding.message)

        run_action(request, act, "证照已登记")
    return _back(pk, "licences")


@console_required
@require_POST
def course_review(request, pk: int, course_id: int):
    form = CourseReviewForm(request.POST)
    if not form.is_valid():
        form_invalid(request, form)
    else:
        approve = form.cleaned_data["decision"] == "approve"

        def act():
            # the course must belong to this (in-scope) institution
            if not registry.course_list(actor=request.user, institution_id=pk).filter(pk=course_id).exists():
                raise NotFound(_("课程"))
            services.course_review(actor=request.user, course_id=course_id, approve=approve)

        run_action(request, act, "课程已核准" if approve else "课程未予核准")
    return _back(pk, "courses")


@console_required
@require_POST
def material_review(request, pk: int, material_id: int):
    form = MaterialReviewForm(request.POST)
    if not form.is_valid():
        form_invalid(request, form)
    else:
        approve = form.cleaned_data["decision"] == "approve"

        def act():
            if (
                not registry.material_list(actor=request.user, institution_id=pk)
                .filter(pk=material_id)
                .exists()
            ):
                raise NotFound(_("培训材料"))
            services.material_review(
                actor=request.user,
                material_id=material_id,
                approve=approve,
                reason=form.cleaned_data["reason"],
            )

        run_action(request, act, "培训材料审核通过" if approve else "培训材料审核不通过，已退回")
    return _back(pk, "materials")


# --- white and black lists ------------------------------------------------------------


@console_required
@require_GET
def list_page(request, kind: str):
    entries = registry.list_entries(actor=request.user, kind=kind).order_by("-decided_on", "-id")
    title = "白名单管理" if kind == ListKind.WHITE else "黑名单管理"
    return render(
        request,
        "portal/console/list_page.html",
        {
            "entries": entries[:500],
            "kind": kind,
            "title": title,
            "can_write": can_write(request.user),
            "here": request.path,
        },
    )


# --- policy ----------------------------------------------------------------------------


def _policy_divisions(user) -> list[tuple[str, str]]:
    """The counties and townships of the user's scope, named (pick, don't type)."""
    from qinglang.core.models import DivisionLevel

    from ..pickers import division_choices

    return division_choices(user, DivisionLevel.COUNTY) + division_choices(user, DivisionLevel.TOWNSHIP)


@console_required
def policy_page(request):
    picked = DivisionPickForm(request.GET if request.GET.get("division") else request.POST)
    division = picked.cleaned_data["division"] if picked.is_valid() else ""
    if picked.errors:
        messages.error(request, f"区划代码不存在：{picked.data.get('division', '')}")
    try:
        div = division_get(code=division) if division else None
        rows = policy_effective(division_code=division)
    except NotFound:
        messages.error(request, f"区划代码不存在：{division}")
        div, rows, division = None, policy_effective(division_code=""), ""
    may_set = bool(division) and may_set_policy(request.user, division)
    form = PolicyOverrideForm(request.POST or None) if may_set else None
    if request.method == "POST":
        if not may_set:
            messages.error(request, "操作未完成：只有本级及上级监管领导或平台管理员可以设定本区划的政策参数")
        elif form.is_valid():
            d = form.cleaned_data
            try:
                policy_override(
                    actor=request.user,
                    key=d["key"],
                    division_code=division,
                    value=d["parsed_value"],
                    basis=d["basis"],
                    effective_from=d.get("effective_from") or None,
                )
            except (DomainError, ValidationError) as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, f"已设定 {d['key']}")
                return redirect(reverse("portal:policy") + f"?division={division}")
    return render(
        request,
        "portal/console/policy.html",
        {
            "division": division,
            "div": div,
            "rows": rows,
            "form": form,
            "may_set": may_set,
            "division_choices": _policy_divisions(request.user),
        },
    )
