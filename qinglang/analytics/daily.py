"""信息日报 and 调度意见: the daily data set each township and department of a county
submits (figures the platform fills in itself plus what only people know), reporting and
on-time rates per unit with DHIS2's semantics, the county's report aggregated from them
(.docx and .xlsx), and the leader's dispatch note back to named units, which they
acknowledge once.

* Expected: one report per unit per working day (core.calendar) up to the day before
  ``today`` (today's report is not yet late); the units are the county's townships and
  the departments with regulators in the county.
* Actual: the reports received for those days; on time: submitted before 09:00 of the
  next day (``ON_TIME_HOUR``)."""

import io
from collections import defaultdict
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.models import Membership, Role
from qinglang.accounts.notifications import Message, notify_many
from qinglang.accounts.permissions import REGULATORS, require_role, user_id
from qinglang.accounts.scope import actor_for, division_in_scope
from qinglang.core.audit import audit_record, checkpoint_line
from qinglang.core.calendar import is_working_day
from qinglang.core.errors import NotFound, PermissionDeniedError
from qinglang.core.i18n import chinese_labels
from qinglang.core.models import DepartmentKind, Division

from .models import DailyReport, Dispatch, DispatchTarget

ON_TIME_HOUR = 9
MAX_TEXT = 4000
FIGURES = [
    ("inspections", "检查次数"),
    ("institutions_checked", "检查机构数"),
    ("unlicensed_found", "发现无证机构"),
    ("unlicensed_closed", "无证机构办结"),
    ("clues_received", "收到线索"),
    ("clues_closed", "办结线索"),
    ("risk_events", "风险事件"),
]
TEXTS = [("notable_events", "重要事项"), ("measures", "工作措施"), ("problems", "需协调解决的问题")]


def _day_range(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime(day.year, day.month, day.day))
    return start, start + timedelta(days=1)


def deadline(day: date) -> datetime:
    nxt = day + timedelta(days=1)
    return timezone.make_aware(datetime(nxt.year, nxt.month, nxt.day, ON_TIME_HOUR))


def units(county: str) -> list[dict]:
    """The reporting units of a county: its townships, then its departments."""
    out = [
        {"division": d.code, "department": "", "name": d.name}
        for d in Division.objects.filter(parent_id=county).order_by("code")
    ]
    names = chinese_labels(DepartmentKind)
    depts = set()
    for prefixes, dept in (
        Membership.objects.filter(active=True, role__in=list(REGULATORS), user__is_active=True)
        .exclude(department_kind="")
        .values_list("division_prefixes", "department_kind")
    ):
        if any(p == county for p in prefixes or []):
            depts.add(dept)
    county_name = Division.objects.filter(code=county).values_list("name", flat=True).first() or ""
    out += [
        {"division": county, "department": k, "name": f"{county_name}{names.get(k, k)}"}
        for k in sorted(depts)
    ]
    return out


def auto_figures(division: str, department: str, day: date) -> dict[str, int]:
    """What the platform knows of the unit's day (one query per figure)."""
    from qinglang.clues.models import Clue
    from qinglang.enforcement.models import CaseType, PenaltyCase, PenaltyCaseTransition
    from qinglang.inspections.models import Record
    from qinglang.risk.models import Alert

    lo, hi = _day_range(day)
    records = Record.objects.filter(division_code__startswith=division, inspected_on=day)
    cases = PenaltyCase.objects.filter(division_code__startswith=division, case_type=CaseType.UNAUTHORIZED)
    closed = PenaltyCaseTransition.objects.filter(
        case__division_code__startswith=division,
        case__case_type=CaseType.UNAUTHORIZED,
        to_status="closed",
        at__gte=lo,
        at__lt=hi,
    )
    clues = Clue.objects.filter(division_code__startswith=division)
    alerts = Alert.objects.filter(division_code__startswith=division, opened_on=day)
    if department:
        records = records.filter(task__institution__competent_department__kind=department)
        cases = cases.filter(department_kind=department)
        closed = closed.filter(case__department_kind=department)
        clues = clues.filter(routed_kinds__contains=f"|{department}|")
        alerts = alerts.filter(department_kind=department)
    rec = records.aggregate(n=Count("id"), inst=Count("task__institution_id", distinct=True))
    cl = clues.aggregate(
        received=Count("id", filter=Q(received_at__gte=lo, received_at__lt=hi)),
        closed=Count("id", filter=Q(closed_at__gte=lo, closed_at__lt=hi)),
    )
    return {
        "inspections": rec["n"],
        "institutions_checked": rec["inst"],
        "unlicensed_found": cases.filter(created_at__gte=lo, created_at__lt=hi).count(),
        "unlicensed_closed": closed.values("case_id").distinct().count(),
        "clues_received": cl["received"],
        "clues_closed": cl["closed"],
        "risk_events": alerts.count(),
    }


def is_unit_member(actor, division: str, department: str) -> bool:
    a = actor_for(actor)
    if not (a.roles & REGULATORS):
        return False
    return any(
        (d == department if department else True) and any(p.startswith(division) for p in ps)
        for ps, d in a.regulator
    )


def _text(value, field: str, label: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_TEXT:
        raise ValidationError({field: format_lazy(_("{label}不超过{limit}字"), label=label, limit=MAX_TEXT)})
    return value


def daily_report_submit(
    *,
    actor,
    division: str,
    department: str = "",
    day: date,
    notable_events: str = "",
    measures: str = "",
    problems: str = "",
) -> DailyReport:
    """A unit's report for ``day`` (today or a past day; a resubmission replaces the text
    and the figures but keeps the first submission time, which decides on-time)."""
    today = timezone.localdate()
    if day > today:
        raise ValidationError({"day": _("不能报送未来日期的日报")})
    texts = {
        f: _text(v, f, label)
        for (f, label), v in zip(TEXTS, (notable_events, measures, problems), strict=True)
    }
    unit = next(
        (u for u in units(division[:6]) if u["division"] == division and u["department"] == department), None
    )
    if unit is None:
        raise ValidationError({"division": _("不是日报报送单位")})
    if not is_unit_member(actor, division, department):
        if division_in_scope(actor, division):
            raise PermissionDeniedError(_("日报由本单位报送"))
        raise NotFound(_("报送单位"))
    with transaction.atomic():
        report, created = DailyReport.objects.select_for_update().get_or_create(
            division_code=division,
            department_kind=department,
            report_on=day,
            defaults={
                "unit_name": unit["name"],
                "submitted_at": timezone.now(),
                "submitted_by_id": user_id(actor),
            },
        )
        before = {f: getattr(report, f) for f in texts}
        for f, v in texts.items():
            setattr(report, f, v)
        report.figures = auto_figures(division, department, day)
        report.save()
        audit_record(
            actor=actor,
            action="analytics.daily_report_submit" if created else "analytics.daily_report_update",
            obj=report,
            changes={
                "day": day.isoformat(),
                "figures": report.figures,
                "before": before if not created else None,
            },
        )
    return report


def reporting_rates(county: str, first: date, last: date, *, today: date | None = None) -> list[dict]:
    """Per unit: expected, actual and on-time reports over [first, last] (DHIS2's
    reporting rate = actual ÷ expected, on-time rate = on time ÷ expected)."""
    today = today or timezone.localdate()
    days = [first + timedelta(days=n) for n in range((min(last, today - timedelta(days=1)) - first).days + 1)]
    days = [d for d in days if is_working_day(d)]
    got = defaultdict(lambda: [0, 0])
    for div, dept, day, at in DailyReport.objects.filter(
        division_code__startswith=county, report_on__in=days
    ).values_list("division_code", "department_kind", "report_on", "submitted_at"):
        g = got[(div, dept)]
        g[0] += 1
        g[1] += at <= deadline(day)
    out = []
    for u in units(county):
        actual, on_time = got.get((u["division"], u["department"]), (0, 0))
        expected = len(days)
        out.append(
            {
                **u,
                "expected": expected,
                "actual": actual,
                "on_time": on_time,
                "reporting_rate": actual / expected if expected else None,
                "on_time_rate": on_time / expected if expected else None,
            }
        )
    return out


def county_report(county: str, day: date) -> dict:
    """The county's report of the day: the platform's figures for the whole county, each
    unit's report (or its absence), and the dispatch notes of the day."""
    node = Division.objects.filter(code=county).first()
    if node is None or len(county) != 6:
        raise NotFound(_("区县"))
    reports = {
        (r.division_code, r.department_kind): r
        for r in DailyReport.objects.filter(division_code__startswith=county, report_on=day)
    }
    rows = []
    for u in units(county):
        r = reports.get((u["division"], u["department"]))
        rows.append({**u, "report": r, "on_time": bool(r and r.submitted_at <= deadline(day))})
    return {
        "county": county,
        "county_name": node.full_name or node.name,
        "county_short": node.name,
        "day": day,
        "totals": auto_figures(county, "", day),
        "units": rows,
        "missing": [u for u in rows if u["report"] is None],
        "dispatches": list(
            Dispatch.objects.filter(division_code=county, report_on=day).prefetch_related("targets")
        ),
        # the audit chain's last signed head, printed so that a copy exists on paper
        "audit_checkpoint": checkpoint_line(),
    }


def county_report_xlsx(rep: dict) -> bytes:
    from openpyxl import Workbook

    from qinglang.core.exports import xlsx_row

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("信息日报")
    ws.append(xlsx_row(ws, [f"{rep['county_name']}信息日报 {rep['day'].isoformat()}"]))
    ws.append(
        xlsx_row(
            ws, ["单位", "报送", "按时", *[label for _k, label in FIGURES], *[label for _k, label in TEXTS]]
        )
    )
    ws.append(xlsx_row(ws, ["全域(平台数据)", "", "", *[rep["totals"][k] for k, _l in FIGURES], "", "", ""]))
    for u in rep["units"]:
        r = u["report"]
        ws.append(
            xlsx_row(
                ws,
                [
                    u["name"],
                    "已报" if r else "未报",
                    ("是" if u["on_time"] else "否") if r else "",
                    *[(r.figures.get(k, 0) if r else "") for k, _l in FIGURES],
                    *[(getattr(r, k) if r else "") for k, _l in TEXTS],
                ],
            )
        )
    ws.append(xlsx_row(ws, [rep["audit_checkpoint"]]))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def county_report_docx(rep: dict) -> bytes:
    from .documents import cn_date, daily_report_document

    return daily_report_document(rep, cn_date(rep["day"]), FIGURES, TEXTS)


# --- 调度意见 ----------------------------------------------------------------------------------


def dispatch_issue(*, actor, county: str, day: date, text: str, targets: list[tuple[str, str]]) -> Dispatch:
    """The leader's dispatch note on a day's reports to named units (each a (division,
    department) of the county's reporting units); each unit is notified."""
    require_role(actor, {Role.REGULATOR_LEADER}, message=_("调度意见由监管领导下达"))
    if not division_in_scope(actor, county):
        raise NotFound(_("区县"))
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("请填写调度意见")})
    if len(text) > MAX_TEXT:
        raise ValidationError({"text": format_lazy(_("调度意见不超过{limit}字"), limit=MAX_TEXT)})
    known = {(u["division"], u["department"]): u for u in units(county)}
    chosen = [known.get(tuple(t)) for t in targets]
    if not chosen or None in chosen:
        raise ValidationError({"targets": _("请选择本县(区)的报送单位")})
    with transaction.atomic():
        d = Dispatch.objects.create(
            division_code=county, report_on=day, text=text, issued_by_id=user_id(actor)
        )
        rows = DispatchTarget.objects.bulk_create(
            DispatchTarget(
                dispatch=d, division_code=u["division"], department_kind=u["department"], unit_name=u["name"]
            )
            for u in {(u["division"], u["department"]): u for u in chosen}.values()
        )
        regs = list(
            Membership.objects.filter(
                active=True, role__in=list(REGULATORS), user__is_active=True
            ).values_list("user_id", "division_prefixes", "department_kind")
        )
        link = reverse("portal:analytics_dispatch", args=[d.pk])
        notify_many(
            [
                Message(
                    users={
                        uid
                        for uid, ps, dept in regs
                        if (dept == t.department_kind if t.department_kind else True)
                        and any(p.startswith(t.division_code) for p in ps or [])
                    },
                    kind="analytics.dispatch",
                    title=f"调度意见({day:%m月%d日}日报)",
                    body=text[:500],
                    link=link,
                    division_code=t.division_code,
                    about=("analytics.dispatch", str(d.pk)),
                )
                for t in rows
            ],
            actor=actor,
        )
        audit_record(
            actor=actor,
            action="analytics.dispatch_issue",
            obj=d,
            changes={"day": day.isoformat(), "targets": [t.unit_name for t in rows]},
        )
    return d


def dispatch_visible(actor):
    """Dispatch notes of the counties in the user's scope, or addressed to their unit."""
    a = actor_for(actor)
    qs = Dispatch.objects.all()
    if a.is_platform_admin:
        return qs
    q = Q(pk__in=[])
    for ps, _d in a.regulator:
        for p in ps:
            q |= Q(division_code__startswith=p) | Q(targets__division_code__startswith=p)
    return qs.filter(q).distinct()


def dispatch_acknowledge(*, actor, target_id: int) -> DispatchTarget:
    with transaction.atomic():
        t = DispatchTarget.objects.select_for_update().filter(pk=target_id).first()
        if t is None or not dispatch_visible(actor).filter(pk=t.dispatch_id).exists():
            raise NotFound(_("调度意见"))
        if not is_unit_member(actor, t.division_code, t.department_kind):
            raise PermissionDeniedError(_("调度意见由被调度单位签收"))
        if t.acknowledged_at:
            raise ValidationError({"target": _("该调度意见已签收")})
        t.acknowledged_at, t.acknowledged_by_id = timezone.now(), user_id(actor)
        t.save(update_fields=["acknowledged_at", "acknowledged_by_id"])
        audit_record(
            actor=actor, action="analytics.dispatch_acknowledge", obj=t, changes={"dispatch": t.dispatch_id}
        )
    return t
