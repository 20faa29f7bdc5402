"""Clue pages: public report form and tracking lookup, the parent end, the grid worker's
phone page, and the regulator console (list, detail with handling, leads, hotline import,
whistle board, trends). Reporter identity is shown only to the handling role on request,
and that reading is audited by the service."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from qinglang.accounts.permissions import REGULATOR_WRITERS, REGULATORS, has_role
from qinglang.accounts.scope import actor_for
from qinglang.clues import selectors, services
from qinglang.clues.models import Channel, ClueCategory, ClueStatus
from qinglang.core.errors import DomainError, NotFound
from qinglang.core.exports import csv_response, csv_values
from qinglang.core.jobs import job_start, should_run_in_background
from qinglang.core.ratelimit import RateLimited, client_ip

from ..exports import CLUE_COLUMNS, rows_for
from ..forms_clues import (
    CATEGORY_CHOICES,
    DEPARTMENT_CHOICES,
    ClueConcludeForm,
    ClueFeedbackForm,
    ClueInvestigateForm,
    ClueMergeForm,
    ClueNoteForm,
    ClueReclassifyForm,
    ClueRouteForm,
    ClueSplitForm,
    ClueTransferForm,
    GridReportForm,
    ImportForm,
    LeadForm,
    ReportForm,
    RetriageApplyForm,
    RetriageStartForm,
    TrackCodeForm,
    TrackForm,
    WhistleForm,
    WhistleReportForm,
)
from ..paging import paginate
from .common import apply_errors, console_required, error_text, run_action, run_form
from .exports import export_response

PUBLIC_COUNTY = settings.PUBLIC_DIVISION


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _ip(request) -> str:
    return "ip:" + client_ip(request)


def _submit(request, form, channel: str, source: str):
    """Run the intake service for a valid form; on errors put them on the form."""
    d = form.cleaned_data
    try:
        photos = services.read_photos(d.get("photos"))
        return services.clue_report_submit(
            actor=request.user,
            submission=services.Submission(
                channel=channel,
                content=d["content"],
                division_code=d["division_code"],
                institution_name=d.get("institution_name", ""),
                address=d.get("address", ""),
                reporter_name=d.get("reporter_name", ""),
                reporter_phone=d.get("reporter_phone", ""),
                anonymous=d.get("anonymous", False),
                photos=photos,
            ),
            source=source,
        )
    except (DomainError, ValidationError) as exc:
        if isinstance(exc, NotFound):
            raise Http404
        apply_errors(form, exc)
        return None


# --- public ----------------------------------------------------------------------------


def clue_report(request):
    form = ReportForm(request.POST or None, request.FILES or None, county=PUBLIC_COUNTY)
    if request.method == "POST" and form.is_valid():
        rep = _submit(request, form, Channel.WEB, _ip(request))
        if rep is not None:
            request.session["clue_tracking_code"] = rep.tracking_code
            return redirect("portal:clue_report_done")
    return render(request, "portal/clues/report.html", {"form": form, "title": "投诉举报"}, status=200)


def clue_report_done(request):
    code = request.session.pop("clue_tracking_code", "")
    if not code:
        return redirect("portal:clue_track")
    return render(request, "portal/clues/report_done.html", {"code": code})


def clue_track(request):
    """进度查询: progress and nothing else (no institution, no department, no reporter)."""
    asked = TrackCodeForm(request.POST if request.method == "POST" else request.GET)
    code = asked.cleaned_data["code"] if asked.is_valid() else ""
    view, error = None, ""
    if code:  # every lookup counts, GET or POST, before anything is read or changed
        try:
            services.rate_limit("web", "track:" + _ip(request))
        except RateLimited as exc:
            minutes = max(1, exc.detail["retry_after"] // 60)
            error = f"查询过于频繁，请{minutes}分钟后再试(为保护举报人，同一来源短时间内只能查询有限次数)"
            return render(request, "portal/clues/track.html", {"error": error}, status=429)
    if request.method == "POST" and code:
        form = TrackForm(request.POST)
        try:
            if not form.is_valid():
                error = "；".join(str(m) for errs in form.errors.values() for m in errs)
            elif form.cleaned_data["op"] == "rate":
                d = form.cleaned_data
                services.clue_satisfaction(tracking_code=code, score=d["score"], comment=d["comment"])
                messages.success(request, "感谢您的评价")
            else:
                services.clue_reopen(tracking_code=code, reason=form.cleaned_data["reason"])
                messages.success(request, "已申请重新办理")
        except (DomainError, ValidationError) as exc:
            error = "查询码无效" if isinstance(exc, NotFound) else error_text(exc)
    if code:
        try:
            view = selectors.tracking_lookup(code=code)
        except NotFound:
            error = error or "查询码无效，请核对后重试"
        except DomainError as exc:
            error = exc.message
    return render(
        request, "portal/clues/track.html", {"view": view, "code": code if view else "", "error": error}
    )


# --- parent end ------------------------------------------------------------------------


def parent_clues(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not actor_for(request.user).is_parent:
        raise PermissionDenied(_("仅限家长账号"))
    form = ReportForm(request.POST or None, request.FILES or None, county=PUBLIC_COUNTY)
    if request.method == "POST" and form.is_valid():
        rep = _submit(request, form, Channel.PARENT, f"user:{request.user.pk}")
        if rep is not None:
            messages.success(request, f"举报已提交，查询码：{rep.tracking_code}")
            return redirect("portal:parent_clues")
    mine = selectors.my_reports(actor=request.user)[:50]
    return render(request, "portal/clues/parent.html", {"form": form, "mine": mine})


# --- grid worker ---------------------------------------------------------------------


def grid_report(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not has_role(request.user, REGULATORS):
        raise PermissionDenied(_("仅限网格员和监管人员"))
    a = actor_for(request.user)
    form = GridReportForm(
        request.POST or None, request.FILES or None, prefixes=a.division_prefixes or [PUBLIC_COUNTY]
    )
    if request.method == "POST" and form.is_valid():
        rep = _submit(request, form, Channel.GRID, f"user:{request.user.pk}")
        if rep is not None:
            messages.success(request, f"已上报，编号 {rep.clue.reference}")
            return redirect("portal:grid_report")
    return render(request, "portal/clues/grid.html", {"form": form})


# --- console ---------------------------------------------------------------------------


@console_required
def clue_list(request):
    g = request.GET
    qs = selectors.clue_list(
        actor=request.user,
        status=g.get("status", ""),
        category=g.get("category", ""),
        q=g.get("q", "").strip(),
        overdue=g.get("overdue") == "1",
        triage=g.get("triage") == "1",
    )
    export = g.get("export") or g.get("format")
    if export == "xlsx":
        return export_response(request, "clues")
    if export == "csv":  # never any reporter field in an export; names, local times, a BOM
        rows = rows_for("clues", request.user, g)
        return csv_response("线索.csv", [c.header for c in CLUE_COLUMNS], csv_values(CLUE_COLUMNS, rows))
    page = paginate(request, qs, 30)
    refs = selectors.source_refs(c.pk for c in page)
    for c in page:
        c.source_ref_list = refs.get(c.pk, [])
    query = g.copy()
    query.pop("page", None)
    return render(
        request,
        "portal/clues/console_list.html",
        {
            "page": page,
            "statuses": ClueStatus.choices,
            "categories": ClueCategory.choices,
            "query": query.urlencode(),
        },
    )


# the handler's actions on a clue: op -> (form, service call, success message)
CLUE_ACTIONS = {
    "accept": (forms.Form, lambda u, c, d: services.clue_accept(actor=u, clue_id=c), "已受理"),
    "investigate": (
        ClueInvestigateForm,
        lambda u, c, d: services.clue_investigate(
            actor=u, clue_id=c, note=d["reason"], open_inspection=d["open_inspection"]
        ),
        "已转入核查",
    ),
    "conclude": (
        ClueConcludeForm,
        lambda u, c, d: services.clue_conclude(
            actor=u, clue_id=c, finding=d["finding"], substantiated=d["substantiated"]
        ),
        "已办结",
    ),
    "feedback": (
        ClueFeedbackForm,
        lambda u, c, d: services.clue_feedback(actor=u, clue_id=c, feedback=d["feedback"]),
        "已反馈举报人",
    ),
    "transfer": (
        ClueTransferForm,
        lambda u, c, d: services.clue_transfer(
            actor=u, clue_id=c, department_kind=d["department_kind"], reason=d["reason"]
        ),
        "已转办",
    ),
    "return": (
        ClueNoteForm,
        lambda u, c, d: services.clue_return(actor=u, clue_id=c, reason=d["reason"]),
        "已退回",
    ),
    "route": (
        ClueRouteForm,
        lambda u, c, d: services.clue_route(
            actor=u, clue_id=c, department_kinds_=d["department_kind"], reason=d["reason"] or "人工分办"
        ),
        "已分办",
    ),
    "reclassify": (
        ClueReclassifyForm,
        lambda u, c, d: services.clue_reclassify(actor=u, clue_id=c, category=d["category"]),
        "已更正类别",
    ),
    "merge": (
        ClueMergeForm,
        lambda u, c, d: services.clue_merge(actor=u, clue_id=c, into_id=d["into_id"], reason=d["reason"]),
        "已并案",
    ),
    "split": (
        ClueSplitForm,
        lambda u, c, d: services.clue_split(
            actor=u, clue_id=c, report_ids=d["report_id"], reason=d["reason"]
        ),
        "已拆分为新线索",
    ),
}


@console_required
def clue_detail(request, clue_id: int):
    try:
        clue = selectors.clue_get(actor=request.user, clue_id=clue_id)
    except NotFound:
        gone = selectors.handed_over(actor=request.user, clue_id=clue_id)
        if gone is None:
            raise
        return render(request, "portal/clues/handed_over.html", {"gone": gone}, status=200)
    if request.method == "POST":
        op = request.POST.get("op", "")
        if op not in CLUE_ACTIONS:
            messages.error(request, "未知操作")
            return redirect("portal:clue_detail", clue_id=clue_id)
        form_class, call, success = CLUE_ACTIONS[op]
        done = run_form(request, form_class, lambda d: call(request.user, clue_id, d), success)
        if op in ("merge", "split") and done is not None:
            return redirect("portal:clue_detail", clue_id=done.pk)
        return redirect("portal:clue_detail", clue_id=clue_id)
    revealed = None
    if request.GET.get("reveal") == "1" and has_role(request.user, REGULATOR_WRITERS):
        try:
            revealed = services.clue_reporters_reveal(actor=request.user, clue_id=clue_id)
        except DomainError as exc:
            messages.error(request, exc.message)
    return render(
        request,
        "portal/clues/console_detail.html",
        {
            "clue": clue,
            "reports": selectors.masked_reports(clue),
            "revealed": revealed,
            "handler": has_role(request.user, REGULATOR_WRITERS),
            "transitions": clue.transitions.all(),
            "routings": clue.routings.select_related("department"),
            "escalations": clue.escalations.all(),
            "categories": CATEGORY_CHOICES,
            "departments": DEPARTMENT_CHOICES,
            "duplicates": services.duplicate_suggestions(actor=request.user, clue_id=clue_id)
            if has_role(request.user, REGULATOR_WRITERS)
            else [],
            "changes": selectors.case_changes(clue),
        },
    )


@console_required
def clue_retriage(request):
    """重新研判: start a re-triage of an area's open clues; earlier runs."""
    if request.method == "POST":
        run = run_form(
            request,
            RetriageStartForm,
            lambda d: services.retriage_start(actor=request.user, division_code=d["division_code"]),
            "已开始重新研判",
        )
        if run is not None:
            return redirect("portal:clue_retriage_run", run_id=run.pk)
        return redirect("portal:clue_retriage")
    return render(
        request,
        "portal/clues/retriage.html",
        {
            "runs": selectors.retriage_runs(actor=request.user),
            "handler": has_role(request.user, REGULATOR_WRITERS),
            "areas": actor_for(request.user).division_prefixes or [],
        },
    )


@console_required
def clue_retriage_run(request, run_id: int):
    """The proposals of one run (category old → new, suggested merges); applied only on
    confirmation of the chosen ones."""
    run = selectors.retriage_get(actor=request.user, run_id=run_id)
    if request.method == "POST":
        run_form(
            request,
            RetriageApplyForm,
            lambda d: services.retriage_apply(
                actor=request.user, run_id=run_id, accept=d["accept"], reason=d["reason"]
            ),
            "已应用所选变更",
        )
        return redirect("portal:clue_retriage_run", run_id=run_id)
    labels = dict(ClueCategory.choices)
    props = [
        {**p, "old_label": labels.get(p.get("old"), ""), "new_label": labels.get(p.get("new"), "")}
        for p in run.proposals
    ]
    return render(
        request,
        "portal/clues/retriage_run.html",
        {"run": run, "proposals": props, "handler": has_role(request.user, REGULATOR_WRITERS)},
    )


@console_required
def clue_lead_new(request):
    form = LeadForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            rep = services.clue_lead_create(actor=request.user, submission=services.Submission(**d))
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"线索已录入：{rep.clue.reference}")
            return redirect("portal:clue_detail", clue_id=rep.clue_id)
    return render(request, "portal/clues/lead.html", {"form": form})


@console_required
def clue_import(request):
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    batch = None
    if request.method == "POST" and form.is_valid():
        f = form.cleaned_data["file"]
        if should_run_in_background(upload_bytes=f.size):  # thousands of work orders: a job
            job = job_start(
                actor=request.user,
                kind="clues.import",
                title=f"导入热线工单：{f.name}",
                handler="qinglang.portal.jobs.clue_import",
                params={"division_code": form.cleaned_data["division_code"], "filename": f.name},
                data=f.read(),
            )
            return redirect("portal:job", job_id=job.pk)
        try:
            batch = services.clue_import_hotline(
                actor=request.user,
                division_code=form.cleaned_data["division_code"],
                filename=f.name,
                data=f.read(),
            )
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
    return render(
        request,
        "portal/clues/import.html",
        {"form": form, "batch": batch, "columns": services.HOTLINE_COLUMNS},
    )


@console_required
def clue_import_template(request):
    resp = HttpResponse(services.hotline_template_xlsx(), content_type=XLSX_TYPE)
    resp["Content-Disposition"] = 'attachment; filename="hotline-template.xlsx"'
    return resp


@console_required
def whistle_board(request):
    may_whistle = services.may_raise_whistle(request.user)
    form = WhistleForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.whistle_raise(actor=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "已吹哨，被点名部门须在时限内报到")
            return redirect("portal:whistle_board")
    return render(
        request,
        "portal/clues/whistles.html",
        {
            "form": form,
            "may_whistle": may_whistle,
            "board": selectors.whistle_board(actor=request.user),
            "late": selectors.late_departments(actor=request.user),
        },
    )


@require_POST
@console_required
def whistle_report(request, whistle_id: int):
    from qinglang.accounts.scope import restrict
    from qinglang.clues.models import Whistle

    if not restrict(Whistle.objects.filter(pk=whistle_id), request.user).exists():
        raise Http404
    form = WhistleReportForm(request.POST)
    if not form.is_valid():
        messages.error(request, "操作未完成：请选择报到部门并填写采取的措施")
        return redirect("portal:whistle_board")
    run_action(
        request,
        lambda: services.whistle_report(actor=request.user, whistle_id=whistle_id, **form.cleaned_data),
        "已报到",
    )
    return redirect("portal:whistle_board")


@console_required
def clue_trends(request):
    dim = request.GET.get("dimension", "category")
    if dim not in ("category", "area", "institution"):
        dim = "category"
    rows = list(selectors.trends(actor=request.user, dimension=dim))
    labels = dict(ClueCategory.choices)
    if dim == "institution":
        from qinglang.registry.models import Institution

        names = dict(Institution.objects.filter(pk__in=[int(r.key) for r in rows]).values_list("id", "name"))
        for r in rows:
            r.label = names.get(int(r.key), r.key)
    elif dim == "area":
        from qinglang.core.models import Division

        names = dict(Division.objects.filter(code__in={r.key for r in rows}).values_list("code", "name"))
        for r in rows:
            r.label = f"{names[r.key]}({r.key})" if r.key in names else r.key
    else:
        for r in rows:
            r.label = labels.get(r.key, r.key)
    return render(
        request,
        "portal/clues/trends.html",
        {
            "rows": rows,
            "dimension": dim,
            "signals": selectors.signals(actor=request.user)[:50],
            "charts": _trend_charts(request.user, labels),
        },
    )


def _trend_charts(user, labels: dict) -> dict:
    """This week and the week before, summed over the counties in scope: by category and
    by area (county), for the two echarts bar charts beside the tables."""
    from qinglang.core.models import Division

    out = {}
    for dim in ("category", "area"):
        this, before, week = {}, {}, None
        for r in selectors.trends(actor=user, dimension=dim):
            this[r.key] = this.get(r.key, 0) + r.count
            before[r.key] = before.get(r.key, 0) + r.previous
            week = r.week_start
        keys = sorted(this, key=lambda k: (-this[k], k))
        if dim == "area":
            names = dict(Division.objects.filter(code__in=keys).values_list("code", "name"))
        else:
            names = labels
        out[dim] = {
            "week": week.isoformat() if week else "",
            "labels": [names.get(k, k) for k in keys],
            "this_week": [this[k] for k in keys],
            "previous_week": [before[k] for k in keys],
            "change": [this[k] - before[k] for k in keys],
        }
    return out
