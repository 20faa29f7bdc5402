"""API of the notification inbox: ``GET /api/notifications`` (own, newest first),
``POST /api/notifications/{id}/read`` and ``POST /api/notifications/read`` (a list of ids).
Another user's notification is 404, as if it did not exist."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema

from qinglang.core.api_support import Limit, Offset

from . import notifications

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


class InboxOut(Schema):
    unread: int
    items: list[NotificationOut]


class ReadIn(Schema):
    ids: list[int] = Field(..., description="my notifications to mark read (all must be mine)")


class ReadOut(Schema):
    marked: int
    unread: int


@router.get("", response=InboxOut, summary="My notifications, newest first")
def inbox(request: HttpRequest, unread: bool = False, limit: Limit = 50, offset: Offset = 0):
    qs = notifications.inbox(request.user, unread_only=unread)
    return {"unread": notifications.unread_count(request.user), "items": list(qs[offset : offset + limit])}


def _marked(request, ids: list[int]) -> dict:
    n = notifications.notification_mark_read(actor=request.user, ids=ids)
    return {"marked": n, "unread": notifications.unread_count(request.user)}


@router.post("/read", response=ReadOut, summary="Mark some of my notifications read (audited)")
def mark_read(request: HttpRequest, payload: ReadIn):
    if not payload.ids:
        raise ValidationError({"ids": _("请指定要标为已读的通知")})
    return _marked(request, payload.ids)


@router.post(
    "/{notification_id}/read", response=ReadOut, summary="Mark one of my notifications read (audited)"
)
def mark_one_read(request: HttpRequest, notification_id: int):
    return _marked(request, [notification_id])
