"""In-app notifications (站内通知): the service that sends them (``notify``, bulk and
audited), the inbox reads and marking as read. An inbox is personal: every read filters
on the recipient, so nobody — the platform admin included — sees another user's
notifications (out of scope = 404, like everything else)."""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from qinglang.core.audit import Entry, audit_record_many
from qinglang.core.errors import NotFound

from .models import Notification, User

MAX_TITLE = 200


@transaction.atomic
def notify(
    users: Iterable,
    *,
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    actor="system",
    division_code: str = "",
    about: tuple[str, str] | None = None,
) -> list[Notification]:
    """One notification to each distinct active user in ``users`` (users or ids), in one
    insert, with one audit event naming the recipients (``about``: the object type and id
    the notification concerns, for the audit trail)."""
    ids = {getattr(u, "pk", u) for u in users if u is not None}
    ids = sorted(User.objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True))
    if not ids:
        return []
    rows = Notification.objects.bulk_create(
        Notification(recipient_id=i, kind=kind, title=title[:MAX_TITLE], body=body, link=link[:300])
        for i in ids
    )
    object_type, object_id = about or ("accounts.notification", "")
    audit_record_many(
        actor=actor,
        entries=[
            Entry(
                "notification.send",
                object_type,
                str(object_id),
                division_code,
                {"kind": kind, "title": title[:MAX_TITLE], "recipients": ids},
            )
        ],
    )
    return rows


@transaction.atomic
def notification_mark_read(*, actor, ids: list[int] | None = None) -> int:
    """Mark the actor's own notifications read: the given ids (each must be the actor's,
    else 404 and nothing changes) or, with ``ids=None``, all unread. Returns how many
    changed; audited when any did."""
    if not getattr(actor, "is_authenticated", False):
        raise NotFound("通知")
    qs = Notification.objects.filter(recipient=actor)
    if ids is not None:
        ids = sorted({int(i) for i in ids})
        if qs.filter(pk__in=ids).count() != len(ids):
            raise NotFound("通知")
        qs = qs.filter(pk__in=ids)
    changed = list(qs.filter(read_at__isnull=True).values_list("pk", flat=True))
    if not changed:
        return 0
    Notification.objects.filter(pk__in=changed).update(read_at=timezone.now())
    audit_record_many(
        actor=actor,
        entries=[Entry("notification.read", "accounts.notification", str(changed[0]), "", {"ids": changed})],
    )
    return len(changed)


# --- reads -------------------------------------------------------------------------------


def inbox(user, *, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's notifications, newest first (nothing for anonymous users)."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    qs = Notification.objects.filter(recipient=user)
    return qs.filter(read_at__isnull=True) if unread_only else qs


def unread_count(user) -> int:
    return inbox(user, unread_only=True).count()
