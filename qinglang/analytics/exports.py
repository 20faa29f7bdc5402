"""The analytics tables as .xlsx (core.exports: text never becomes a formula): the
dashboard, the weekly ranking, and a county's (or any division's) figures in one file for
the level above — every roll-up row of the period below the division, by unit and
department, with names."""

import io

from openpyxl import Workbook

from qinglang.core.division_names import full_name
from qinglang.core.exports import xlsx_row
from qinglang.core.i18n import chinese_labels
from qinglang.core.models import DepartmentKind, Division

from .indicators import INDICATORS


def _pct(value, unit: str):
    if value is None:
        return ""
    return round(value * 100, 2) if unit == "%" else value


def _book(sheets) -> bytes:
    wb = Workbook(write_only=True)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(xlsx_row(ws, row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def dashboard_xlsx(board: dict) -> bytes:
    head = ["指标", "目标", "实际", "分子", "分母", "较上期", "单位"]
    rows = [[f"{board['division_name']} {board['start']}至{board['end']}"], head]
    for r in board["rows"]:
        ind = r["indicator"]
        rows.append(
            [
                ind.name,
                _pct(ind.target, ind.unit),
                _pct(r["value"], ind.unit),
                r["numerator"],
                r["denominator"],
                _pct(r["change"], ind.unit),
                "%" if ind.unit == "%" else ind.unit,
            ]
        )
    units = [["单位", *[r["indicator"].name for r in board["rows"]]]]
    for u in board["units"]:
        units.append([u["name"], *[_pct(c["value"], c["unit"]) if c else "" for c in u["cells"]]])
    return _book([("指标", rows), ("下级单位", units)])


def ranking_xlsx(data: dict) -> bytes:
    rows = [
        [f"{data['county_name']} {data['week_start']}至{data['week_end']} 指标排名"],
        ["指标", "类别", "排名", "单位", "本周", "上周", "变化", "分子", "分母"],
    ]
    for ind in data["indicators"]:
        for kind, units in (("乡镇(街道)", ind["townships"]), ("部门", ind["departments"])):
            for u in units:
                rows.append(
                    [
                        ind["name"],
                        kind,
                        u["rank"] or "",
                        u["name"],
                        _pct(u["value"], ind["unit"]),
                        _pct(u["previous"], ind["unit"]),
                        _pct(u["change"], ind["unit"]),
                        u["numerator"],
                        u["denominator"],
                    ]
                )
    return _book([("排名", rows)])


def figures_xlsx(qs, *, division: str, period: str, start) -> bytes:
    """Every roll-up row of ``qs`` (already scoped) for the period below ``division``."""
    names = chinese_labels(DepartmentKind)
    places = {
        c: f or n
        for c, f, n in Division.objects.filter(code__startswith=division).values_list(
            "code", "full_name", "name"
        )
    }
    rows = [
        [f"{full_name(division) if division else '全国'} 指标数据 {period} {start}"],
        ["区划代码", "区划", "部门", "指标", "分子", "分母", "值"],
    ]
    for r in (
        qs.filter(period=period, period_start=start, division_code__startswith=division)
        .order_by("division_code", "department_kind", "indicator")
        .iterator(chunk_size=5000)
    ):
        ind = INDICATORS.get(r.indicator)
        if ind is None:
            continue
        rows.append(
            [
                r.division_code,
                places.get(r.division_code, r.division_code) if r.division_code else "全国",
                names.get(r.department_kind, "全部部门") if r.department_kind else "全部部门",
                ind.name,
                r.numerator,
                r.denominator,
                _pct(r.value if ind.unit == "%" else r.numerator, ind.unit),
            ]
        )
    return _book([("指标数据", rows)])
