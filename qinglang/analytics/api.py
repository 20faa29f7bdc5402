"""Analytics API: the indicator definitions, and a division's values for a period (with
its children, the previous period and the trend), read from the roll-up tables."""

from datetime import date

from ninja import Router, Schema

from . import selectors
from .indicators import INDICATORS

router = Router(tags=["analytics"])


class IndicatorOut(Schema):
    key: str
    name: str
    numerator: str
    denominator: str
    target: float
    direction: str
    unit: str
    kind: str


class CellOut(Schema):
    code: str = ""
    name: str = ""
    numerator: int
    denominator: int
    value: float | None
    previous: float | None
    change: float | None
    status: str


class RowOut(CellOut):
    indicator: str
    children: list[CellOut]
    trend: list[float | None]


class BoardOut(Schema):
    division: str
    division_name: str
    period: str
    start: date
    end: date
    department: str
    rows: list[RowOut]
    trend_labels: list[str]


@router.get("/indicators", response=list[IndicatorOut])
def indicators(request):
    return [{k: getattr(i, k) for k in IndicatorOut.model_fields} for i in INDICATORS.values()]


@router.get("/values", response=BoardOut)
def values(
    request,
    division: str | None = None,
    period: str = "week",
    start: date | None = None,
    department: str = "",
):
    b = selectors.dashboard(
        request.user,
        division=selectors.home_division(request.user) if division is None else division,
        period=period,
        start=start,
        department=department,
    )
    b["rows"] = [{**r, "indicator": r["indicator"].key} for r in b["rows"]]
    return b
