"""In-app notifications (站内通知): the service that sends them (``notify``, bulk and
audited; ``notify_on_commit`` for a service's own events, sent once its transaction
commits), who receives them (``institution_users``, ``department_officers``), the inbox
reads (grouped by kind, unread counts, filters) and marking as read. An inbox is personal: every read filters
on the recipient, so nobody — the platform admin included — sees another user's
notifications (out of scope = 404, like everything else)."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qinglang.core import bulk
from qinglang.core.audit import Entry, audit_record_many
from qinglang.core.errors import NotFound

from .models import Notification, User

MAX_TITLE = 200

# Kinds of notification, by the prefix of ``Notification.kind``, with the label the inbox
# groups them under. The longest matching prefix names a kind.
KIND_LABELS = {
    "approval": _("审批结果"),
    "order.paid": _("订单缴费"),
    "lesson.to_confirm": _("课时待确认"),
    "refund.requested": _("退费申请"),
    "refund.answered": _("退费答复"),
    "notice.issued": _("整改通知"),
    "clue.assigned": _("线索分办"),
    "clue.transferred": _("线索转办"),
    "clue.escalation": _("线索督办"),
    "whistle.named": _("吹哨点名"),
    "whistle.late": _("吹哨逾期"),
    "deadline.near": _("期限将至"),
    "risk": _("风险预警"),
    "analytics.problem": _("督查问题"),
    "analytics.work_task": _("工作台账"),
    "bank.payout": _("拨付指令"),
    "bank.freeze": _("暂停与恢复拨付"),
    "bank.recon": _("对账差异"),
    "inspection.assigned": _("检查任务"),
    "rectification.reinspect": _("待复查"),
}
OTHER_KIND = _("其他通知")


def kind_group(kind: str) -> str:
    """The inbox group of a kind: its longest prefix in ``KIND_LABELS`` ("" if none)."""
    best = ""
    for prefix in KIND_LABELS:
        if (kind == prefix or kind.startswith(prefix + ".")) and len(prefix) > len(best):
            best = prefix
    return best


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind_group(kind), OTHER_KIND)


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


def notify_on_commit(users: Iterable, **kw) -> None:
    """``notify`` once the current transaction commits (nothing if it rolls back): a
    service's own event reaches people only when it really happened. The recipients are
    resolved now, inside the transaction."""
    ids = sorted({getattr(u, "pk", u) for u in users if u is not None})
    if ids:
        transaction.on_commit(lambda: notify(ids, **kw))


def institution_users(institution_id: int | None) -> list[int]:
    """The active accounts of an institution (its administrators and staff)."""
    return institutions_users([institution_id]).get(institution_id, []) if institution_id else []


def institutions_users(institution_ids: Iterable[int]) -> dict[int, list[int]]:
    """``institution_users`` for many institutions at once (one query)."""
    from .models import INSTITUTION_ROLES

    return _members_by("institution_id", institution_ids, INSTITUTION_ROLES)


def bank_operators(bank_ids: Iterable[int]) -> dict[int, list[int]]:
    """The active operators of each custody bank (one query); nobody of another bank."""
    from .models import Role

    return _members_by("bank_id", bank_ids, (Role.BANK_OPERATOR,))


def _members_by(field: str, ids: Iterable[int], roles) -> dict[int, list[int]]:
    """Active users holding one of ``roles`` for each of ``ids`` (of ``Membership.<field>``)."""
    from .models import Membership

    out: dict[int, list[int]] = {}
    rows = Membership.objects.filter(
        **{f"{field}__in": sorted({i for i in ids if i is not None})},
        role__in=roles,
        active=True,
        user__is_active=True,
    ).values_list(field, "user_id")
    for key, user_id in rows:
        out.setdefault(key, []).append(user_id)
    return out


def department_officers(division_code: str, department_kind: str) -> list[int]:
    """The regulators of a department whose division scope covers ``division_code``
    (a county department's officers and leaders for a township's matter)."""
    from .models import Membership, Role

    rows = Membership.objects.filter(
        role__in=(Role.REGULATOR_OFFICER, Role.REGULATOR_LEADER),
        department_kind=department_kind,
        active=True,
        user__is_active=True,
    ).values_list("user_id", "division_prefixes")
    return sorted({uid for uid, prefixes in rows if any(division_code.startswith(p) for p in prefixes or [])})


@dataclass
class Message:
    """One notification of a batch (``notify_many``): what ``notify`` takes, per message."""

    users: Iterable
    kind: str
    title: str
    body: str = ""
    link: str = ""
    division_code: str = ""
    about: tuple[str, str] | None = None


NOTIFICATIONS = bulk.Table(Notification, ("recipient_id", "kind", "title", "body", "link", "created_at"))


@transaction.atomic
def notify_many(messages: Iterable[Message], *, actor="system") -> int:
    """``notify`` for a batch: each message to its distinct active recipients, the whole
    batch in one insert (COPY on PostgreSQL) and one audit call with an event per message
    sent, as ``notify`` would record it. For jobs that notify about thousands of objects at
    once (the first day of risk scoring). Returns how many notifications were written."""
    messages = list(messages)
    wanted = [{getattr(u, "pk", u) for u in m.users if u is not None} for m in messages]
    everyone = sorted(set().union(*wanted)) if wanted else []
    active = {
        r[0]
        for r in bulk.select_in(
            "SELECT id FROM accounts_user WHERE is_active = %s AND id {in}", everyone, params=[True]
        )
    }
    now = timezone.now()
    rows, entries = [], []
    for m, ids in zip(messages, wanted, strict=True):
        ids = sorted(ids & active)
        if not ids:
            continue
        title = m.title[:MAX_TITLE]
        rows.extend(
            NOTIFICATIONS.row(
                recipient_id=i, kind=m.kind, title=title, body=m.body, link=m.link[:300], created_at=now
            )
            for i in ids
        )
        object_type, object_id = m.about or ("accounts.notification", "")
        entries.append(
            Entry(
                "notification.send",
                object_type,
                str(object_id),
                m.division_code,
                {"kind": m.kind, "title": title, "recipients": ids},
            )
        )
    if rows:
        NOTIFICATIONS.insert(rows)
        audit_record_many(actor=actor, entries=entries)
    return len(rows)


def notify_many_on_commit(messages: Iterable[Message], *, actor="system") -> None:
    """``notify_many`` once the current transaction commits (nothing if it rolls back)."""
    messages = [m for m in messages if m.users]  # users: lists
    if messages:
        transaction.on_commit(lambda: notify_many(messages, actor=actor))


def notify_many_once(messages: Iterable[Message], *, actor="system", since=None) -> int:
    """``notify_many`` for reminders a daily job sends: a recipient who already has a
    notification of the same kind and link (created at or after ``since``, or ever) does
    not get it again, so running the job twice sends nothing twice."""
    messages = list(messages)
    if not messages:
        return 0
    qs = Notification.objects.filter(
        kind__in={m.kind for m in messages}, link__in={m.link[:300] for m in messages}
    )
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    sent = set(qs.values_list("recipient_id", "kind", "link"))
    fresh = []
    for m in messages:
        users = [
            u
            for u in {getattr(u, "pk", u) for u in m.users if u is not None}
            if (u, m.kind, m.link[:300]) not in sent
        ]
        if users:
            fresh.append(Message(users, m.kind, m.title, m.body, m.link, m.division_code, m.about))
    return notify_many(fresh, actor=actor) if fresh else 0


@transaction.atomic
def notification_mark_read(*, actor, ids: list[int] | None = None) -> int:
    """Mark the actor's own notifications read: the given ids (each must be the actor's,
    else 404 and nothing changes) or, with ``ids=None``, all unread. Returns how many
    changed; audited when any did."""
    if not getattr(actor, "is_authenticated", False):
        raise NotFound(_("通知"))
    qs = Notification.objects.filter(recipient=actor)
    if ids is not None:
        ids = sorted({int(i) for i in ids})
        if qs.filter(pk__in=ids).count() != len(ids):
            raise NotFound(_("通知"))
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


def inbox(user, *, unread_only: bool = False, group: str = "") -> QuerySet[Notification]:
    """The user's notifications, newest first (nothing for anonymous users); ``group``:
    only those of one kind group (a key of ``KIND_LABELS``)."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    qs = Notification.objects.filter(recipient=user)
    if group in KIND_LABELS:
        qs = qs.filter(Q(kind=group) | Q(kind__startswith=group + "."))
        for longer in (k for k in KIND_LABELS if k != group and k.startswith(group + ".")):
            qs = qs.exclude(Q(kind=longer) | Q(kind__startswith=longer + "."))
    return qs.filter(read_at__isnull=True) if unread_only else qs


def inbox_groups(user) -> list[dict]:
    """The user's notifications counted by kind group: label, total and unread, in the
    order of ``KIND_LABELS`` (groups the user has none of are left out)."""
    if not getattr(user, "is_authenticated", False):
        return []
    counts: dict[str, dict] = {}
    rows = (
        Notification.objects.filter(recipient=user)
        .values("kind")
        .annotate(total=Count("id"), unread=Count("id", filter=Q(read_at__isnull=True)))
    )
    for r in rows:
        g = counts.setdefault(kind_group(r["kind"]), {"total": 0, "unread": 0})
        g["total"] += r["total"]
        g["unread"] += r["unread"]
    order = [*KIND_LABELS, ""]
    return [
        {"group": g, "label": KIND_LABELS.get(g, OTHER_KIND), **c}
        for g, c in sorted(counts.items(), key=lambda kv: order.index(kv[0]))
    ]


def unread_count(user) -> int:
    return inbox(user, unread_only=True).count()
