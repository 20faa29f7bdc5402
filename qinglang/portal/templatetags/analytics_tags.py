"""Filters of the indicator pages: values as percentages, red/amber/green, names."""

import html

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from qinglang.core.models import DepartmentKind

register = template.Library()

RAG = {"red": "bg-danger", "amber": "bg-warning text-dark", "green": "bg-success", "none": "bg-secondary"}


@register.filter
def rag_class(status: str) -> str:
    return RAG.get(status, "bg-secondary")


@register.filter
def indicator_value(value, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.1f}%" if unit == "%" else f"{value:g}{unit}"


@register.filter
def indicator_change(change, unit: str) -> str:
    if change is None:
        return ""
    return f"{change * 100:+.1f}个百分点" if unit == "%" else f"{change:+g}{unit}"


@register.filter
def indicator_target(ind) -> str:
    t = indicator_value(ind.target, ind.unit)
    return (
        f"≥ {t}" if ind.direction == "up" and ind.target < 1 else (t if ind.direction == "up" else f"≤ {t}")
    )


@register.filter
def indicator_figure(n, ind) -> str:
    """A numerator or denominator: yuan for an indicator over money, else the count."""
    if getattr(ind, "money", False):
        from qinglang.core.money import format_yuan

        return format_yuan(int(n or 0))
    return f"{n or 0}"


@register.filter
def department_name(kind: str) -> str:
    return dict(DepartmentKind.choices).get(kind, kind)


@register.simple_tag
def row_link(item, ind):
    label = (
        getattr(item, "name", None)
        or getattr(item, "reference", None)
        or getattr(item, "title", "")
        or str(item)
    )
    if ind.link:
        return format_html('<a href="{}">{}</a>', reverse(ind.link, args=[item.pk]), label)
    return label


@register.filter
def row_division(item) -> str:
    code = getattr(item, "division_code", None)
    return code if code is not None else item.institution.division_code


@register.filter
def ranking_groups(ind: dict) -> list:
    """The township and the department table of one indicator of a ranking."""
    return [("乡镇(街道)", ind["townships"], "township"), ("部门", ind["departments"], "department")]


@register.filter
def attr_of(obj, name: str):
    return getattr(obj, name, "")


# The cells and rows below are rendered in Python: a dashboard or a ranking has hundreds of
# them, and an included template per cell cost most of the page's time.

DASH = '<span class="text-muted">—</span>'


def _e(value) -> str:
    return html.escape(str(value))


def _badge(status: str, value, unit: str) -> str:
    return f'<span class="badge {rag_class(status)}">{_e(indicator_value(value, unit))}</span>'


@register.simple_tag
def indicator_cell(cell) -> str:
    """One value: a red/amber/green badge and the change on the previous period, or —."""
    if not cell or not cell.get("denominator"):
        return mark_safe(DASH)
    unit = cell["unit"]
    out = _badge(cell["status"], cell["value"], unit)
    change = cell.get("change")
    if change is not None:
        tone = "text-danger" if change < 0 else "text-success"
        out += f' <small class="{tone}">{_e(indicator_change(change, unit))}</small>'
    return mark_safe(out)


@register.simple_tag
def ranking_rows(units, kind: str, ind: dict, data: dict) -> str:
    """The rows of one ranking table (townships or departments of one indicator)."""
    url = reverse("portal:analytics_dashboard")
    unit = ind["unit"]
    week = _e(data["week_start"])
    rows = []
    for u in units:
        if kind == "township":
            href = f"{url}?division={_e(u['division'])}&period=week&start={week}"
        else:
            href = (
                f"{url}?division={_e(data['county'])}&period=week&start={week}"
                f"&department={_e(u['department'])}"
            )
        value = DASH if u["value"] is None else _badge(u["status"], u["value"], unit)
        rows.append(
            f'<tr><td>{_e(u["rank"] or "—")}</td><td><a href="{href}">{_e(u["name"])}</a></td>'
            f"<td>{value}</td><td>{_e(indicator_change(u['change'], unit) or '—')}</td></tr>"
        )
    return mark_safe("".join(rows))
