"""Keyset (cursor) pagination: stable under inserts, constant cost at any depth."""

import base64
import json
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import QuerySet


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        pad = "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(cursor + pad))["after"]
        if not isinstance(value, int):
            raise ValueError
        return value
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise ValidationError({"cursor": "分页游标无效"})


@dataclass
class Page:
    items: list
    next_cursor: str | None


def keyset_page(qs: QuerySet, *, cursor: str | None, limit: int, max_limit: int = 200) -> Page:
    """Items ordered by id after the cursor; ``next_cursor`` is None on the last page."""
    if limit < 1 or limit > max_limit:
        raise ValidationError({"limit": f"每页条数须在1到{max_limit}之间"})
    after = decode_cursor(cursor)
    if after is not None:
        qs = qs.filter(id__gt=after)
    items = list(qs.order_by("id")[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    if not (more and items):
        return Page(items, None)
    last = items[-1]
    return Page(items, encode_cursor(last["id"] if isinstance(last, dict) else last.id))
