"""Small display helpers for portal templates."""

import functools

from django import template

from qinglang.core.money import format_yuan
from qinglang.core.states import machine_of

register = template.Library()

STATUS_BADGES = {
    "active": "success",
    "suspended": "warning",
    "stop_enrollment": "warning",
    "closed": "secondary",
    "banned": "dark",
    "runaway": "danger",
    "fully_licensed": "success",
    "permit_only": "warning",
    "license_only": "warning",
    "unlicensed": "danger",
    "pending": "warning",
    "submitted": "warning",
    "approved": "success",
    "rejected": "danger",
}


@register.filter
def yuan(fen):
    """Integer fen as yuan: 12345 -> ¥123.45. A missing figure (an account that is not
    open: the template variable resolves to "") shows as "—", never an error."""
    if fen is None or isinstance(fen, bool) or not isinstance(fen, int):
        return "—"
    return format_yuan(fen)


@register.filter
def badge(value):
    """Bootstrap colour for a status value."""
    return STATUS_BADGES.get(str(value), "secondary")


@register.filter
def next_statuses(obj) -> list[str]:
    """The statuses ``obj`` may move to, from its model's state machine (core.states):
    ``{% if "approved" in m|next_statuses %}``."""
    return [v for v, _ in machine_of(obj).allowed(obj)]


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "") if mapping else ""


@register.filter
def division_name(code):
    """'510107009' -> '四川省成都市武侯区晋阳街道' (reference data, cached per process)."""
    return _division_full_name(code or "")


@functools.lru_cache(maxsize=8192)
def _division_full_name(code: str) -> str:
    from qinglang.core.models import Division

    d = Division.objects.filter(code=code).only("full_name", "name").first()
    return (d.full_name or d.name) if d else code
