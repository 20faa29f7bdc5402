"""Scoped reads of the roll-ups: the dashboard (targets against actuals, the division
tree one level down, lagging units first, a trend), and the drill-through to the source
rows behind one value. A page reads only roll-up rows: a fixed number of queries however
many institutions lie below."""

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import REGULATORS, is_system, require_role
from qinglang.accounts.scope import actor_for, division_in_scope, restrict
from qinglang.core.errors import NotFound
from qinglang.core.models import DepartmentKind, Division

from .indicators import INDICATORS, Indicator
from .models import IndicatorValue, Period
from .refresh import month_start, period_bounds, week_start

DEPARTMENT_PATHS = {
    "RectificationItem": "department_kind",
    "SchoolReport": "department_kind",
    "Task": "institution__competent_department__kind",
    "TrainingMaterial": "institution__competent_department__kind",
    "Staff": "institution__competent_department__kind",
    "Clue": "institution__competent_department__kind",
}
RANK = {"red": 0, "amber": 1, "none": 2, "green": 3}
TREND_POINTS = 12


def home_division(actor) -> str:
    """The division a user's dashboard opens on: the top of their scope ("" nationwide)."""
    a = actor_for(actor)
    if a.is_platform_admin or is_system(actor):
        return ""
    prefixes = a.division_prefixes
    return min(prefixes, key=len) if prefixes else ""


def own_department(actor) -> str:
    """The department a regulator belongs to ("" if none or several)."""
    a = actor_for(actor)
    depts = {d for _div, d in a.regulator}
    return depts.pop() if len(depts) == 1 else ""


def _check(actor, division: str, period: str, department: str) -> None:
    require_role(actor, REGULATORS, message=_("指标仅对监管部门开放"))
    if period not in Period.values:
        raise ValidationError({"period": _("周期应为日、周或月")})
    if department and department not in DepartmentKind.values:
        raise ValidationError({"department": _("主管部门不存在")})
    if division and not (division.isdigit() and len(division) in (2, 4, 6, 9, 12)):
        raise ValidationError({"division": _("区划代码应为2、4、6、9或12位数字")})
    a = actor_for(actor)
    if not (a.is_platform_admin or is_system(actor)) and not (
        division and division_in_scope(actor, division)
    ):
        raise NotFound(_("区划"))


def check_scope(actor, division: str) -> None:
    """A regulator whose scope covers ``division`` (for the ranking of a county)."""
    _check(actor, division, Period.WEEK, "")


def shift(period: str, start: date, n: int) -> date:
    """The period ``n`` steps before ``start``."""
    if period == Period.DAY:
        return start - timedelta(days=n)
    if period == Period.WEEK:
        return start - timedelta(days=7 * n)
    y, m = start.year, start.month - n
    while m < 1:
        y, m = y - 1, m + 12
    return date(y, m, 1)


def latest_start(period: str) -> date | None:
    return IndicatorValue.objects.filter(period=period).aggregate(m=Max("period_start"))["m"]


def normalise_start(period: str, start: date) -> date:
    return {Period.WEEK: week_start, Period.MONTH: month_start}.get(period, lambda d: d)(start)


def _cell(ind: Indicator, row, previous) -> dict:
    value = row.value if row else None
    prev = previous.value if previous else None
    if ind.unit == "个" and row:
        value = row.numerator
    return {
        "numerator": row.numerator if row else 0,
        "denominator": row.denominator if row else 0,
        "value": value,
        "previous": prev,
        "change": (value - prev) if value is not None and prev is not None else None,
        "status": ind.status(value),
        "unit": ind.unit,
    }


def dashboard(actor, *, division: str, period: str, start: date | None, department: str = "") -> dict:
    """Every indicator for ``division`` and its children in the period, with the
    previous period for the change, lagging children first, and a trend per indicator."""
    _check(actor, division, period, department)
    start = normalise_start(period, start) if start else (latest_start(period) or date.today())
    prev = shift(period, start, 1)
    node = Division.objects.filter(code=division).first() if division else None
    if division and node is None:
        raise NotFound(_("区划"))
    children = list(
        Division.objects.filter(parent_id=division) if division else Division.objects.filter(level=1)
    )
    codes = [division, *[c.code for c in children]]
    rows = restrict(IndicatorValue.objects.all(), actor).filter(
        period=period, period_start__in=[start, prev], division_code__in=codes, department_kind=department
    )
    got = {(r.indicator, r.period_start, r.division_code): r for r in rows}
    trend_starts = [shift(period, start, n) for n in range(TREND_POINTS - 1, -1, -1)]
    trend_rows = restrict(IndicatorValue.objects.all(), actor).filter(
        period=period, period_start__in=trend_starts, division_code=division, department_kind=department
    )
    trend = {(r.indicator, r.period_start): r.value for r in trend_rows}
    out = []
    for ind in INDICATORS.values():
        kids = [
            {
                "code": c.code,
                "name": c.name,
                **_cell(ind, got.get((ind.key, start, c.code)), got.get((ind.key, prev, c.code))),
            }
            for c in children
        ]
        kids = [k for k in kids if k["denominator"]]
        kids.sort(key=lambda k: (RANK[k["status"]], k["value"] if k["value"] is not None else 0, k["code"]))
        out.append(
            {
                "indicator": ind,
                **_cell(ind, got.get((ind.key, start, division)), got.get((ind.key, prev, division))),
                "children": kids,
                "trend": [trend.get((ind.key, s)) for s in trend_starts],
            }
        )
    out.sort(key=lambda r: RANK[r["status"]])
    units = []
    for c in children:
        cells = [next((k for k in r["children"] if k["code"] == c.code), None) for r in out]
        if not any(cells):
            continue
        reds = sum(1 for k in cells if k and k["status"] == "red")
        ambers = sum(1 for k in cells if k and k["status"] == "amber")
        units.append({"code": c.code, "name": c.name, "cells": cells, "reds": reds, "ambers": ambers})
    units.sort(key=lambda u: (-u["reds"], -u["ambers"], u["code"]))
    _first, last = period_bounds(period, start)
    return {
        "division": division,
        "division_name": node.full_name or node.name if node else "全国",
        "parent": node.parent_id if node and node.parent_id else ("" if node else None),
        "period": period,
        "start": start,
        "end": last,
        "previous": prev,
        "department": department,
        "rows": out,
        "units": units,
        "trend_labels": [s.isoformat() for s in trend_starts],
    }


def drill(
    actor, *, key: str, division: str, period: str, start: date, department: str = "", limit: int = 200
):
    """How one value was computed, and the source rows behind it (scoped: a user sees
    only the rows their own scope lets them see)."""
    ind = INDICATORS.get(key)
    if ind is None:
        raise NotFound(_("指标"))
    _check(actor, division, period, department)
    start = normalise_start(period, start)
    first, last = period_bounds(period, start)
    stored = (
        restrict(IndicatorValue.objects.all(), actor)
        .filter(
            indicator=key,
            period=period,
            period_start=start,
            division_code=division,
            department_kind=department,
        )
        .first()
    )
    if ind.kind == "snapshot":
        days = [first] if period == Period.DAY else []
        day_rows = IndicatorValue.objects.filter(
            indicator=key, period=Period.DAY, period_start__gte=first, period_start__lte=last
        ).aggregate(m=Max("period_start"))
        days = [day_rows["m"]] if day_rows["m"] else days
        note = "在营状态以刷新当日登记为准；所列为当前登记"
    else:
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        note = "按时限届满日归入周期；所列为时限落在周期内的记录"
    items: list = []
    for day in days:
        q = restrict(ind.rows(day), actor)
        on_inst = q.model.__name__ in ("Staff", "TrainingMaterial")
        q = q.filter(
            **{("institution__division_code" if on_inst else "division_code") + "__startswith": division}
        )
        if department:
            q = q.filter(**{DEPARTMENT_PATHS.get(q.model.__name__, "competent_department__kind"): department})
        items += list(q.order_by("meets_target", "pk")[: limit - len(items)])
        if len(items) >= limit:
            break
    return {"indicator": ind, "stored": stored, "start": start, "end": last, "items": items, "note": note}
