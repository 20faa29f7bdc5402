"""Pages of the work ledger (工作台账) and the supervision problem list (督查反馈问题清单)."""

from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from qinglang.analytics import ledger, selectors
from qinglang.analytics.models import (
    PROBLEM_STATES,
    ProblemStatus,
    WorkTaskStatus,
)
from qinglang.core import files
from qinglang.core.division_names import full_name
from qinglang.core.errors import DomainError
from qinglang.core.exports import Column, field, file_response, xlsx_response
from qinglang.core.i18n import chinese_display
from qinglang.core.models import DepartmentKind

from ..forms_ledger import (
    ProblemDecideForm,
    ProblemForm,
    ProblemImportForm,
    ProblemNoteForm,
    ProblemSubmitForm,
    WorkProgressForm,
    WorkTaskForm,
)
from .common import console_required, run_form

DEPT = dict(DepartmentKind.choices)


def _county(request) -> str:
    code = (request.GET.get("division") or "").strip()
    return code if code.isdigit() and len(code) == 6 else selectors.home_division(request.user)[:6]


def _dept(obj) -> str:
    return DEPT.get(obj.department_kind, obj.department_kind)


# --- 督查反馈问题清单 ----------------------------------------------------------------------------

PROBLEM_FILTERS = {
    "open": {"status": ProblemStatus.OPEN},
    "submitted": {"status": ProblemStatus.SUBMITTED},
    "closed": {"status": ProblemStatus.CLOSED},
}


def _problems(request):
    qs = ledger.visible_problems(request.user)
    status = request.GET.get("status", "")
    if status in PROBLEM_FILTERS:
        qs = qs.filter(**PROBLEM_FILTERS[status])
    elif status == "overdue":
        qs = qs.filter(status=ProblemStatus.OPEN, deadline__lt=timezone.localdate())
    dept = request.GET.get("department", "")
    if dept in DEPT:
        qs = qs.filter(department_kind=dept)
    return qs.order_by("status", "deadline", "id")


PROBLEM_COLUMNS = [
    Column("区县", lambda p: full_name(p.division_code), width=20),
    Column("问题清单", field("source_ref"), width=28),
    Column("序号", field("number"), width=8),
    Column("问题来源", field("source")),
    Column("问题描述", field("description"), width=50),
    Column("责任部门", _dept, width=20),
    Column("牵头领导", field("lead_leader"), width=12),
    Column("整改措施", field("measures"), width=40),
    Column("整改时限", field("deadline"), kind="date"),
    Column("状态", lambda p: "已逾期" if ledger.is_overdue(p) else chinese_display(p, "status")),
    Column("整改情况", field("close_summary"), width=40),
    Column("销号日期", field("closed_on"), kind="date"),
]


@console_required
def problem_list(request):
    county = _county(request)
    if request.method == "POST":
        if request.POST.get("action") == "import":
            return _problem_import(request, county)
        p = run_form(
            request,
            ProblemForm,
            lambda d: ledger.problem_create(actor=request.user, county=county, **d),
            "问题已登记并交办责任部门",
        )
        if p is not None:
            return redirect("portal:analytics_problem", p.pk)
        return redirect(reverse("portal:analytics_problems") + f"?division={county}")
    today = timezone.localdate()
    rows = list(_problems(request)[:500])
    return render(
        request,
        "portal/analytics/problems.html",
        {
            "rows": [{"p": p, "dept": _dept(p), "overdue": ledger.is_overdue(p, today)} for p in rows],
            "county": county,
            "county_name": full_name(county),
            "may_manage": ledger.may_manage(request.user, county),
            "form": ProblemForm(),
            "import_form": ProblemImportForm(),
            "departments": list(DEPT.items()),
            "status": request.GET.get("status", ""),
            "department": request.GET.get("department", ""),
            "import_errors": None,
        },
    )


def _problem_import(request, county: str):
    box = {}

    def run(d):
        box["r"] = ledger.problem_import_xlsx(
            actor=request.user,
            county=county,
            source=d["source"],
            source_ref=d["source_ref"],
            file_obj=d["file"],
        )
        return box["r"]

    r = run_form(request, ProblemImportForm, run, lambda d: "已读取问题清单")
    if r is not None and not r.ok:
        from django.contrib import messages

        list(messages.get_messages(request))  # the file was read; its rows were refused
        messages.error(request, f"导入未完成：{len(r.errors)}处错误，一个问题也未导入")
        return render(
            request,
            "portal/analytics/problems.html",
            {
                "rows": [],
                "county": county,
                "county_name": full_name(county),
                "may_manage": True,
                "form": ProblemForm(),
                "import_form": ProblemImportForm(),
                "departments": list(DEPT.items()),
                "import_errors": r.errors,
            },
            status=400,
        )
    if r is not None:
        from django.contrib import messages

        list(messages.get_messages(request))
        messages.success(request, f"已导入{len(r.created)}个问题并交办责任部门")
    return redirect(reverse("portal:analytics_problems") + f"?division={county}")


@console_required
def problem_template(request):
    return file_response("督查反馈问题导入模板.xlsx", ledger.problem_template_xlsx())


@console_required
def problem_export(request):
    return xlsx_response(
        f"督查反馈问题清单{timezone.localdate().isoformat()}.xlsx",
        "督查反馈问题",
        PROBLEM_COLUMNS,
        _problems(request).iterator(),
    )


def _problem(request, problem_id: int):
    p = ledger.visible_problems(request.user).filter(pk=problem_id).first()
    if p is None:
        raise Http404(_("督查问题不存在或无权查看"))
    return p


PROBLEM_ACTIONS = {
    "note": (
        ProblemNoteForm,
        lambda r, p, d: ledger.problem_note(actor=r.user, problem_id=p.pk, **d),
        "已报送整改进展",
    ),
    "submit": (
        ProblemSubmitForm,
        lambda r, p, d: ledger.problem_submit(
            actor=r.user, problem_id=p.pk, summary=d["summary"], uploads=d["evidence"]
        ),
        "已申请销号",
    ),
    "decide": (
        ProblemDecideForm,
        lambda r, p, d: ledger.problem_decide(
            actor=r.user, problem_id=p.pk, close=d["decision"] == "close", reason=d["reason"]
        ),
        "审核意见已提交",
    ),
}


@console_required
def problem_detail(request, problem_id: int):
    p = _problem(request, problem_id)
    if request.method == "POST":
        action = PROBLEM_ACTIONS.get(request.POST.get("action", ""))
        if action is None:
            from django.contrib import messages

            messages.error(request, "操作未完成：未知操作")
        else:
            form_class, fn, success = action
            run_form(request, form_class, lambda d: fn(request, p, d), success)
        return redirect("portal:analytics_problem", p.pk)
    from qinglang.accounts.permissions import competent_or_task_force

    return render(
        request,
        "portal/analytics/problem.html",
        {
            "p": p,
            "dept": _dept(p),
            "overdue": ledger.is_overdue(p),
            "transitions": list(p.transitions.all()),
            "notes": list(p.notes.all()),
            "evidence": list(p.evidence.all()),
            "may_report": competent_or_task_force(request.user, p.division_code, p.department_kind)
            and p.status == ProblemStatus.OPEN,
            "may_decide": ledger.may_manage(request.user, p.division_code)
            and p.status == ProblemStatus.SUBMITTED,
            "next": PROBLEM_STATES.allowed(p),
        },
    )


@console_required
@require_safe
def problem_evidence(request, problem_id: int, problem_evidence_id: int):
    p = _problem(request, problem_id)
    e = p.evidence.filter(pk=problem_evidence_id).first()
    if e is None:
        raise Http404(_("文件不存在"))
    try:
        fh = files.open_stored(e.path)
    except (OSError, DomainError):
        raise Http404(_("文件不存在"))
    return FileResponse(fh, as_attachment=True, filename=e.original_name, content_type=e.content_type)


# --- 工作台账 ---------------------------------------------------------------------------------

TASK_COLUMNS = [
    Column("区县", lambda t: full_name(t.division_code), width=20),
    Column("责任部门", _dept, width=20),
    Column("工作任务", field("title"), width=36),
    Column("工作要求", field("requirement"), width=40),
    Column("牵头领导", field("lead_leader"), width=12),
    Column("推进频次", field("cadence")),
    Column("完成时限", field("due_on"), kind="date"),
    Column("完成进度(%)", field("progress"), kind="number"),
    Column("状态", lambda t: "已逾期" if ledger.is_overdue(t) else chinese_display(t, "status")),
    Column("最近报送", field("last_progress_at"), kind="time"),
]


def _tasks(request):
    qs = ledger.visible_tasks(request.user)
    dept = request.GET.get("department", "")
    if dept in DEPT:
        qs = qs.filter(department_kind=dept)
    return qs.order_by("department_kind", "status", "id")


@console_required
def work_ledger(request):
    county = _county(request)
    if request.method == "POST":
        t = run_form(
            request,
            WorkTaskForm,
            lambda d: ledger.work_task_create(actor=request.user, county=county, **d),
            "任务已列入工作台账",
        )
        if t is not None:
            return redirect("portal:analytics_work_task", t.pk)
        return redirect(reverse("portal:analytics_work_ledger") + f"?division={county}")
    today = timezone.localdate()
    groups: dict[str, list] = {}
    for t in _tasks(request)[:500]:
        groups.setdefault(_dept(t), []).append({"t": t, "overdue": ledger.is_overdue(t, today)})
    return render(
        request,
        "portal/analytics/work_ledger.html",
        {
            "groups": groups,
            "county": county,
            "county_name": full_name(county),
            "may_manage": ledger.may_manage(request.user, county),
            "form": WorkTaskForm(),
            "departments": list(DEPT.items()),
            "department": request.GET.get("department", ""),
            "done": WorkTaskStatus.DONE,
        },
    )


@console_required
def work_ledger_export(request):
    return xlsx_response(
        f"工作台账{timezone.localdate().isoformat()}.xlsx",
        "工作台账",
        TASK_COLUMNS,
        _tasks(request).iterator(),
    )


@console_required
def work_task_detail(request, work_task_id: int):
    t = ledger.visible_tasks(request.user).filter(pk=work_task_id).first()
    if t is None:
        raise Http404(_("工作任务不存在或无权查看"))
    if request.method == "POST":
        run_form(
            request,
            WorkProgressForm,
            lambda d: ledger.work_task_progress(actor=request.user, task_id=t.pk, **d),
            "推进情况已报送",
        )
        return redirect("portal:analytics_work_task", t.pk)
    from qinglang.accounts.permissions import competent_or_task_force

    return render(
        request,
        "portal/analytics/work_task.html",
        {
            "t": t,
            "dept": _dept(t),
            "overdue": ledger.is_overdue(t),
            "notes": list(t.notes.all()),
            "may_report": t.status != WorkTaskStatus.DONE
            and competent_or_task_force(request.user, t.division_code, t.department_kind),
            "form": WorkProgressForm(initial={"progress": t.progress}),
        },
    )
