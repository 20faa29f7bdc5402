"""Pages of the analytics app: the leader's and the department's dashboard (targets
against actuals, the division tree, trends, lagging units first) and the drill-through
page showing how one value was computed and the rows behind it."""

from datetime import date, timedelta
from functools import wraps

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from qinglang.accounts.scope import actor_for, restrict
from qinglang.analytics import daily, exports, notices, selectors
from qinglang.analytics.models import DailyReport, DispatchTarget, IndicatorValue, Period, RankingNotice
from qinglang.core import files
from qinglang.core.errors import DomainError, PermissionDeniedError
from qinglang.core.models import DepartmentKind

from ..forms_analytics import (
    DailyReportForm,
    DispatchAckForm,
    DispatchForm,
    RankingIssueForm,
    ReminderForm,
    UnitForm,
)
from .common import console_required, error_text, form_invalid, form_message, run_action, run_form


def _params(request) -> dict:
    g = request.GET
    start = None
    if g.get("start"):
        try:
            start = date.fromisoformat(g["start"].strip())
        except ValueError as exc:
            raise ValidationError({"start": _("日期格式应为 YYYY-MM-DD")}) from exc
    division = g.get("division")
    return {
        "division": selectors.home_division(request.user) if division is None else division.strip(),
        "period": g.get("period") or Period.WEEK,
        "start": start,
        "department": (g.get("department") or selectors.own_department(request.user)).strip(),
    }


def _chart(board: dict) -> dict:
    return {
        "labels": board["trend_labels"],
        "series": [
            {
                "name": r["indicator"].name,
                "data": [round(v * 100, 1) if v is not None else None for v in r["trend"]],
            }
            for r in board["rows"]
            if r["indicator"].unit == "%"
        ],
    }


@console_required
def dashboard(request):
    try:
        board = selectors.dashboard(request.user, **_params(request))
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from exc
    except ValidationError as exc:
        return render(request, "portal/analytics/error.html", {"message": error_text(exc)}, status=400)
    if request.GET.get("format") == "xlsx":
        return _attachment(
            exports.dashboard_xlsx(board), f"指标看板{board['division'] or '全国'}{board['start']}.xlsx", XLSX
        )
    return render(
        request,
        "portal/analytics/dashboard.html",
        {
            "board": board,
            "chart": _chart(board),
            "periods": Period.choices,
            "departments": DepartmentKind.choices,
        },
    )


@console_required
def drill(request):
    try:
        p = _params(request)
        p["start"] = p["start"] or selectors.latest_start(p["period"]) or date.today()
        result = selectors.drill(request.user, key=request.GET.get("indicator", ""), **p)
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from exc
    except ValidationError as exc:
        return render(request, "portal/analytics/error.html", {"message": error_text(exc)}, status=400)
    return render(request, "portal/analytics/drill.html", {"r": result, "p": p})


# --- 每周一通报: the live ranking, the notices, the reminders ---------------------------------

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _county(request, code: str | None = None) -> str:
    """The county a page is about: the one named (a posted form's, else the query's),
    else the user's own."""
    code = (code if code is not None else request.GET.get("division") or "").strip()
    if not code:
        code = selectors.home_division(request.user)[:6]
    return code


def _week(value: str | None) -> date:
    if not value:
        return notices.target_week(timezone.now())
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationError({"week": _("日期格式应为 YYYY-MM-DD")}) from exc


def _guarded(view):
    """A read page: a refused role is 403, bad input the 400 page with the reason."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except PermissionDeniedError as exc:
            raise PermissionDenied(exc.message) from exc
        except ValidationError as exc:
            return render(request, "portal/analytics/error.html", {"message": error_text(exc)}, status=400)

    return wrapped


def _county_read(request, param: str, parse, read):
    """(county, parsed parameter, what ``read`` returns) of a county-wide read."""
    county = _county(request)
    value = parse(request.GET.get(param))
    selectors.check_scope(request.user, county)
    return county, value, read(county, value)


@console_required
@_guarded
def ranking(request):
    """The week's ranking of the county's townships and departments (from the roll-ups),
    the notice of that week if issued, and the leader's button to issue it now."""
    county, _week_asked, data = _county_read(request, "week", _week, notices.ranking)
    if request.GET.get("format") == "xlsx":
        return _attachment(exports.ranking_xlsx(data), f"指标排名{county}{data['week_start']}.xlsx", XLSX)
    issued = RankingNotice.objects.filter(division_code=county, week_start=data["week_start"]).first()
    return render(
        request,
        "portal/analytics/ranking.html",
        {
            "data": data,
            "issued": issued,
            "may_issue": notices.may_issue(request.user, county),
            "previous_week": date.fromisoformat(data["week_start"]) - timedelta(days=7),
            "next_week": date.fromisoformat(data["week_start"]) + timedelta(days=7),
        },
    )


@console_required
@require_POST
def ranking_issue(request):
    form = RankingIssueForm(request.POST)
    if not form.is_valid():
        form_invalid(request, form)
        return redirect("portal:analytics_ranking")
    county = _county(request, form.cleaned_data["division"])
    week = form.cleaned_data["week"] or notices.target_week(timezone.now())
    box = {}

    def issue():
        box["n"] = notices.notice_issue_on_demand(actor=request.user, county=county, week=week)

    if run_action(request, issue, "通报已印发，并已发送至各单位"):
        return redirect("portal:analytics_notice", box["n"].pk)
    return redirect(f"{reverse('portal:analytics_ranking')}?division={county}&week={week.isoformat()}")


@console_required
def notice_list(request):
    try:
        qs = notices.notices_visible(request.user).order_by("-week_start", "division_code")[:100]
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from exc
    return render(request, "portal/analytics/notices.html", {"notices": qs})


@console_required
def notice_detail(request, ranking_notice_id: int):
    try:
        n = notices.notice_get(request.user, ranking_notice_id)
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from exc
    reminders = notices.reminders_visible(request.user).filter(notice=n)
    return render(request, "portal/analytics/notice.html", {"n": n, "data": n.data, "reminders": reminders})


@console_required
def notice_docx(request, ranking_notice_id: int):
    try:
        n = notices.notice_get(request.user, ranking_notice_id)
        fh = files.open_stored(n.file)
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from exc
    except (OSError, DomainError) as exc:
        raise Http404(_("文件不存在")) from exc
    return FileResponse(fh, as_attachment=True, filename=f"{n.number}.docx", content_type=DOCX)


@console_required
def reminder_list(request):
    qs = notices.reminders_visible(request.user).order_by("acknowledged_at", "-notice__week_start", "id")[
        :200
    ]
    return render(request, "portal/analytics/reminders.html", {"reminders": qs})


@console_required
def reminder_detail(request, reminder_id: int):
    r = notices.reminder_get(request.user, reminder_id)
    if request.method == "POST":

        def act(d):
            if d["action"] == "acknowledge":
                return notices.reminder_acknowledge(actor=request.user, reminder_id=r.pk)
            return notices.reminder_follow_up(actor=request.user, reminder_id=r.pk, text=d["follow_up"])

        run_form(
            request,
            ReminderForm,
            act,
            lambda d: "已签收" if d["action"] == "acknowledge" else "整改落实情况已报送",
        )
        return redirect("portal:analytics_reminder", r.pk)
    return render(
        request,
        "portal/analytics/reminder.html",
        {"r": r, "may_act": notices.is_unit_member(request.user, r)},
    )


# --- 信息日报 and 调度意见 ------------------------------------------------------------------


def _day(value: str | None) -> date:
    if not value:
        return timezone.localdate()
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationError({"day": _("日期格式应为 YYYY-MM-DD")}) from exc


def _my_units(user) -> list[dict]:
    """The reporting units the user belongs to."""
    a = actor_for(user)
    counties = {p[:6] for ps, _d in a.regulator for p in ps if len(p) >= 6}
    return [
        u
        for c in sorted(counties)
        for u in daily.units(c)
        if daily.is_unit_member(user, u["division"], u["department"])
    ]


@console_required
@_guarded
def daily_county(request):
    """The county's day: who reported (on time), the platform's figures, the units'
    text, the reporting and on-time rates over the last 30 days, the dispatch form."""
    county, day, rep = _county_read(request, "day", _day, daily.county_report)
    rates = daily.reporting_rates(county, day - timedelta(days=29), day)
    return render(
        request,
        "portal/analytics/daily.html",
        {
            "rep": rep,
            "rates": rates,
            "figures": daily.FIGURES,
            "texts": daily.TEXTS,
            "may_dispatch": notices.may_issue(request.user, county),
            "my_units": _my_units(request.user),
        },
    )


@console_required
@_guarded
def daily_export(request, fmt: str):
    _county_code, day, rep = _county_read(request, "day", _day, daily.county_report)
    name = f"{rep['county_short']}信息日报{day.isoformat()}"
    if fmt == "docx":
        body, ctype = daily.county_report_docx(rep), DOCX
    else:
        body, ctype = daily.county_report_xlsx(rep), XLSX
    return _attachment(body, f"{name}.{fmt}", ctype)


def _attachment(body: bytes, filename: str, ctype: str) -> HttpResponse:
    from urllib.parse import quote

    r = HttpResponse(body, content_type=ctype)
    r["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return r


@console_required
def daily_submit(request):
    """A unit's report of the day: the platform's figures shown, the text entered."""
    units = _my_units(request.user)
    posted = request.method == "POST"
    form = DailyReportForm(request.POST) if posted else UnitForm(request.GET)
    if not form.is_valid():
        if posted:
            form_invalid(request, form)
            return redirect("portal:analytics_daily_submit")
        return render(request, "portal/analytics/error.html", {"message": form_message(form)}, status=400)
    d = form.cleaned_data
    key = (d["division"], d["department"])
    unit = next((u for u in units if (u["division"], u["department"]) == key), units[0] if units else None)
    if unit is None:
        raise PermissionDenied(_("您不属于日报报送单位"))
    day = d["day"] or timezone.localdate()
    if posted:
        ok = run_action(
            request,
            lambda: daily.daily_report_submit(
                actor=request.user,
                division=unit["division"],
                department=unit["department"],
                day=day,
                notable_events=d["notable_events"],
                measures=d["measures"],
                problems=d["problems"],
            ),
            "日报已报送",
        )
        if ok:
            return redirect(
                f"{reverse('portal:analytics_daily_submit')}?division={unit['division']}&department={unit['department']}&day={day.isoformat()}"
            )
    existing = DailyReport.objects.filter(
        division_code=unit["division"], department_kind=unit["department"], report_on=day
    ).first()
    return render(
        request,
        "portal/analytics/daily_submit.html",
        {
            "unit": unit,
            "units": units,
            "day": day,
            "existing": existing,
            "preview": daily.auto_figures(unit["division"], unit["department"], day),
            "figures": daily.FIGURES,
            "texts": daily.TEXTS,
            "dispatches": DispatchTarget.objects.filter(
                division_code=unit["division"], department_kind=unit["department"]
            ).select_related("dispatch")[:20],
        },
    )


@console_required
@require_POST
def dispatch_issue(request):
    form = DispatchForm(request.POST)
    ok = form.is_valid()
    d = form.cleaned_data  # the fields that parsed, even when another did not
    county = _county(request, d.get("division"))
    day = d.get("day") or timezone.localdate()
    back = f"{reverse('portal:analytics_daily')}?division={county}&day={day.isoformat()}"
    if not ok:
        form_invalid(request, form)
        return redirect(back)
    box = {}

    def issue():
        box["d"] = daily.dispatch_issue(
            actor=request.user, county=county, day=day, text=d["text"], targets=d["target"]
        )

    if run_action(request, issue, "调度意见已下达"):
        return redirect("portal:analytics_dispatch", box["d"].pk)
    return redirect(back)


@console_required
def dispatch_detail(request, dispatch_id: int):
    d = daily.dispatch_visible(request.user).filter(pk=dispatch_id).first()
    if d is None:
        raise Http404(_("调度意见不存在或无权查看"))
    if request.method == "POST":
        form = DispatchAckForm(request.POST)
        if not form.is_valid():
            form_invalid(request, form)
            return redirect("portal:analytics_dispatch", d.pk)
        targets = list(d.targets.all())
        asked = form.cleaned_data["target"]
        t = next((t for t in targets if t.pk == asked), None) if asked else None
        if t is None and not asked:  # the user's own unit among the addressees, else the first
            mine = [
                t for t in targets if daily.is_unit_member(request.user, t.division_code, t.department_kind)
            ]
            t = (mine or targets or [None])[0]
        if t is None:
            raise Http404(_("调度意见不存在或无权查看"))
        run_action(request, lambda: daily.dispatch_acknowledge(actor=request.user, target_id=t.pk), "已签收")
        return redirect("portal:analytics_dispatch", d.pk)
    targets = [
        {"t": t, "mine": daily.is_unit_member(request.user, t.division_code, t.department_kind)}
        for t in d.targets.all()
    ]
    return render(request, "portal/analytics/dispatch.html", {"d": d, "targets": targets})


@console_required
@_guarded
def figures_export(request):
    """A division's figures in one file for the level above: every roll-up row of the
    period below it (scoped: a city or province user exports their whole prefix)."""
    p = _params(request)
    selectors.check_scope(request.user, p["division"])
    start = selectors.normalise_start(
        p["period"], p["start"] or selectors.latest_start(p["period"]) or date.today()
    )
    body = exports.figures_xlsx(
        restrict(IndicatorValue.objects.all(), request.user),
        division=p["division"],
        period=p["period"],
        start=start,
    )
    return _attachment(body, f"指标数据{p['division'] or '全国'}{start}.xlsx", XLSX)
