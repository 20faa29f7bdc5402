"""Pages of the analytics app: the leader's and the department's dashboard (targets
against actuals, the division tree, trends, lagging units first) and the drill-through
page showing how one value was computed and the rows behind it."""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render

from qinglang.analytics import selectors
from qinglang.analytics.models import Period
from qinglang.core.errors import PermissionDeniedError
from qinglang.core.models import DepartmentKind

from .common import console_required, error_text


def _params(request) -> dict:
    g = request.GET
    start = None
    if g.get("start"):
        try:
            start = date.fromisoformat(g["start"].strip())
        except ValueError as exc:
            raise ValidationError({"start": "日期格式应为 YYYY-MM-DD"}) from exc
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
