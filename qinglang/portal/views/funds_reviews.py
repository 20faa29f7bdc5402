"""Regulator reviews in prepaid-fee custody (监管端): parents' disputes of lessons to
uphold or reject with a reason; the institutions' weekly declarations with the custody
coverage rate per township and competent department; risk-deposit top-ups."""

from datetime import timedelta

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from qinglang.funds import selectors, services
from qinglang.funds.models import LessonStatus
from qinglang.funds.selectors_coverage import coverage_of_all
from qinglang.funds.services.indicators import week_monday
from qinglang.portal.templatetags.portal_tags import division_name

from ..forms_funds import DepositForm, DisputeDecisionForm, WeekForm, form_errors
from ..paging import paginate
from .common import can_write, console_required, run_action, run_form
from .exports import export_response, wants_export
from .funds_console import DEPARTMENT_NAMES, PER_PAGE, _in_scope

DECIDED = {
    "open": LessonStatus.DISPUTED,
    "upheld": LessonStatus.DISPUTE_UPHELD,
    "rejected": LessonStatus.DISPUTE_REJECTED,
}


@console_required
def funds_disputes(request):
    show = request.GET.get("show", "open")
    if show not in DECIDED:
        show = "open"
    lessons = selectors.dispute_list(actor=request.user, status=DECIDED[show])
    return render(
        request,
        "portal/funds/console_disputes.html",
        {
            "lessons": lessons,
            "show": show,
            "can_write": can_write(request.user),
            "form": DisputeDecisionForm(),
        },
    )


@console_required
@require_POST
def funds_dispute_decide(request, lesson_id: int):
    if not selectors.lesson_list(actor=request.user).filter(pk=lesson_id).exists():
        raise Http404(_("消课记录不存在或无权查看"))
    run_form(
        request,
        DisputeDecisionForm,
        lambda d: services.dispute_decide(
            actor=request.user, lesson_id=lesson_id, upheld=d["upheld"], reason=d["reason"]
        ),
        lambda d: "已裁决：异议成立，课时已退回、拨付已冲回" if d["upheld"] else "已裁决：异议不成立",
    )
    return redirect("portal:funds_disputes")


@console_required
def funds_declarations(request):
    """Declarations of a chosen week in scope, who has not declared, and the coverage
    rate per township and per competent department for that week."""
    form = WeekForm(request.GET or None)
    day = (form.cleaned_data.get("week") if form.is_valid() else None) or timezone.localdate()
    week_start = week_monday(day)
    ov = selectors.custody_overview(actor=request.user, week_start=week_start)
    for r in ov["by_department"]:
        r["label"] = DEPARTMENT_NAMES.get(r["group"] or "", r["group"] or "未定")
    declarations = selectors.declaration_list(actor=request.user, week_start=week_start)
    if wants_export(request):
        return export_response(request, "declarations")
    page = paginate(request, declarations, PER_PAGE)
    cov = coverage_of_all(
        actor=request.user,
        week_start=week_start,
        township_label=lambda code: division_name(code) if code else "未定",
        department_label=lambda kind: DEPARTMENT_NAMES.get(kind, kind or "未定"),
    )
    uncovered = Paginator(cov["without_account"], PER_PAGE).get_page(request.GET.get("upage"))
    return render(
        request,
        "portal/funds/console_declarations.html",
        {
            "form": form,
            "week_start": week_start,
            "week_end": week_start + timedelta(days=6),
            "prev_week": week_start - timedelta(days=7),
            "next_week": week_start + timedelta(days=7),
            "ov": ov,
            "cov": cov,
            "coverage_tables": [
                {
                    "title": "按乡镇(街道)",
                    "head": "乡镇(街道)",
                    "rows": cov["by_township"],
                    "id": "coverage-township",
                },
                {
                    "title": "按主管部门",
                    "head": "主管部门",
                    "rows": cov["by_department"],
                    "id": "coverage-department",
                },
            ],
            "uncovered": uncovered,
            "page": page,
            "query": f"week={week_start.isoformat()}",
            "missing": selectors.declarations_missing(actor=request.user, week_start=week_start)[:200],
        },
    )


@console_required
@require_POST
def funds_deposit(request, pk: int):
    """A regulator records a risk-deposit top-up; the form's token makes a double
    submission record it once."""
    _in_scope(request, pk)
    form = DepositForm(request.POST)

    def act():
        if not form.is_valid():
            raise form_errors(form)
        services.deposit_record(
            actor=request.user,
            institution_id=pk,
            amount_fen=form.cleaned_data["amount"],
            key=form.cleaned_data["token"],
            note=form.cleaned_data.get("note", ""),
        )

    run_action(request, act, "已登记保证金缴存")
    return redirect("portal:funds_institution", pk=pk)
