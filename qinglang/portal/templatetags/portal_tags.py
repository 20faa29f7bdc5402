"""Small display helpers for portal templates."""

from django import template

from qinglang.core.money import format_yuan

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
    """Integer fen as yuan: 12345 -> ¥123.45."""
    return format_yuan(fen)


@register.filter
def badge(value):
    """Bootstrap colour for a status value."""
    return STATUS_BADGES.get(str(value), "secondary")


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "") if mapping else ""
