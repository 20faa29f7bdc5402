"""The second phase of a lesson's release (一课一消): its pending release is posted to
the institution's settlement when the parent confirms, when the deemed-confirm job finds
it unanswered after ``lesson.parent_confirm_days`` working days, or when a regulator
rejects the parent's dispute; it is voided back to the order's prepaid account (held,
refundable) when the dispute is upheld. Exactly one of these happens to a pending
release: each locks the order, then the lesson, and re-reads the lesson's status under
the lock; the posting's idempotency key ``settle:{lesson id}`` is unique, so even a
missing lock could not post it twice. The settling posting ``reverses`` the pending one
(TigerBeetle's post/void of a pending transfer)."""

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from qinglang.accounts.permissions import is_system, system
from qinglang.accounts.scope import actor_for
from qinglang.core import bulk
from qinglang.core.audit import audit_record
from qinglang.core.errors import NotFound, PermissionDeniedError
from qinglang.core.policy import PolicyBatch, policy_resolve

from ..ledger import PostingSpec, account_get_or_create, post, post_ids, post_one
from ..models import (
    LESSON_PENDING,
    LESSON_STATES,
    ORDER_STATES,
    AccountKind,
    LedgerAccount,
    Lesson,
    LessonStatus,
    Order,
    OrderStatus,
    PostingCode,
)
from .common import is_regulator_writer, lock_order, move
from .lesson_plan import release_target

LESSON_SETTLED = bulk.Table(Lesson, ("status", "settled_posting_id"))
ORDER_RELEASES = bulk.Table(Order, ("pending_fen", "released_fen"))
CONFIRM_DAYS = "lesson.parent_confirm_days"
DEEM_CHUNK = 20_000  # lessons per transaction of the deemed-confirm job
POSTS = {LessonStatus.CONFIRMED, LessonStatus.DEEMED_CONFIRMED, LessonStatus.DISPUTE_REJECTED}


@dataclass(frozen=True, slots=True)
class Settlement:
    """Where a lesson's pending release goes: the spec of the posting (None when the
    lesson moved nothing) and the order's counter changes."""

    spec: PostingSpec | None
    pending_delta: int
    released_delta: int


def settlement_of(
    lesson, target: str, *, pending_acc: int, settlement_acc: int, prepaid_acc: int
) -> Settlement:
    """Pure: the posting that posts (``target`` confirmed, deemed or rejected) or voids
    (upheld) ``lesson``'s pending release. ``lesson`` needs id, released_fen, posting_id,
    institution_id, order_id, division_code and bank_id."""
    amount = lesson.released_fen
    if not amount or lesson.posting_id is None:
        return Settlement(None, 0, 0)
    posted = target in POSTS
    return Settlement(
        PostingSpec(
            key=f"settle:{lesson.id}",
            code=PostingCode.RELEASE_POST if posted else PostingCode.RELEASE_VOID,
            legs=((pending_acc, amount), ((settlement_acc if posted else prepaid_acc), -amount)),
            institution_id=lesson.institution_id,
            division_code=lesson.division_code,
            order_id=lesson.order_id,
            bank_id=lesson.bank_id,
            reverses_id=lesson.posting_id,
        ),
        -amount,
        amount if posted else 0,
    )


_ACCOUNTS_SQL = (
    f"SELECT (SELECT a.id FROM {LedgerAccount._meta.db_table} a "  # noqa: S608 - our table names
    "WHERE a.institution_id = %s AND a.kind = %s AND a.order_id IS NULL), "
    f"(SELECT a.id FROM {LedgerAccount._meta.db_table} a "
    "WHERE a.institution_id = %s AND a.kind = %s AND a.order_id IS NULL), "
    f"(SELECT a.id FROM {LedgerAccount._meta.db_table} a WHERE a.order_id = %s)"
)


def _accounts(order: Order) -> tuple[int, int, int]:
    """The institution's pending-release and settlement accounts and the order's prepaid
    account, read in one statement (the first two created at need)."""
    with connection.cursor() as cur:
        cur.execute(
            _ACCOUNTS_SQL,
            [
                order.institution_id,
                AccountKind.PENDING_RELEASE.value,
                order.institution_id,
                AccountKind.SETTLEMENT.value,
                order.pk,
            ],
        )
        pending, settlement, prepaid = cur.fetchone()
    if pending is None or settlement is None:
        inst = order.institution
        pending = account_get_or_create(
            institution=inst, kind=AccountKind.PENDING_RELEASE, bank_id=order.bank_id
        ).pk
        settlement = account_get_or_create(
            institution=inst, kind=AccountKind.SETTLEMENT, bank_id=order.bank_id
        ).pk
    if prepaid is None:
        raise LedgerAccount.DoesNotExist(f"order {order.pk} has no prepaid account")
    return pending, settlement, prepaid


def _settle(*, lesson: Lesson, order: Order, target: str, actor, reason: str = "") -> int:
    """Move ``lesson`` (locked, with its order) to ``target`` and post or void its
    pending release; returns the amount moved."""
    LESSON_STATES.check(lesson.status, target)
    pending, settlement, prepaid = _accounts(order)
    s = settlement_of(lesson, target, pending_acc=pending, settlement_acc=settlement, prepaid_acc=prepaid)
    if s.spec is not None:
        # the lesson is locked and still pending: its settling key was never posted (if it
        # were, the unique key refuses: AlreadyPosted rolls the whole call back)
        p = post_one(s.spec, retry_ok=False)
        p.apply()
        lesson.settled_posting_id = p.posting_id
        order.pending_fen += s.pending_delta
        order.released_fen += s.released_delta
    move(LESSON_STATES, lesson, target, actor=actor, reason=reason)
    LESSON_SETTLED.update([(lesson.pk, lesson.status, lesson.settled_posting_id)])
    return -s.pending_delta


def lock_lesson(*, actor, lesson_id: int, **roles) -> tuple[Lesson, Order]:
    """The order locked first (as every funds writer does), then the lesson, re-read."""
    with connection.cursor() as cur:
        cur.execute(_ORDER_OF_SQL, [lesson_id])
        row = cur.fetchone()
    if row is None:
        raise NotFound(gettext_lazy("消课记录"))
    order = lock_order(actor=actor, order_id=row[0], **roles)
    lesson = next(iter(Lesson.objects.raw(_LESSON_FOR_UPDATE_SQL, [lesson_id])), None)
    if lesson is None:
        raise NotFound(gettext_lazy("消课记录"))
    return lesson, order


_ORDER_OF_SQL = f"SELECT order_id FROM {Lesson._meta.db_table} WHERE id = %s"  # noqa: S608 - our table
# every column, the row locked (a raw query: the lesson's own statement compiled once)
_LESSON_FOR_UPDATE_SQL = (
    f"SELECT {', '.join(f.column for f in Lesson._meta.concrete_fields)} "  # noqa: S608
    f"FROM {Lesson._meta.db_table} WHERE id = %s"
    + (" FOR NO KEY UPDATE" if connection.vendor == "postgresql" else "")
)


def lesson_confirm(*, actor, lesson_id: int) -> Lesson:
    """The parent confirms a lesson was given: its pending release is posted to the
    institution's settlement. Confirming again (or after the lesson was deemed
    confirmed) returns the lesson as it stands, changing nothing."""
    with transaction.atomic():
        lesson, order = lock_lesson(actor=actor, lesson_id=lesson_id, parent=True)
        if lesson.status in (LessonStatus.CONFIRMED, LessonStatus.DEEMED_CONFIRMED):
            return lesson
        before = lesson.status
        amount = _settle(lesson=lesson, order=order, target=LessonStatus.CONFIRMED, actor=actor)
        ORDER_RELEASES.update([(order.pk, order.pending_fen, order.released_fen)])
        audit_record(
            actor=actor,
            action="funds.lesson_confirm",
            obj=lesson,
            changes={"status": [before, lesson.status], "posted_fen": amount},
        )
    return lesson


def lesson_dispute(*, actor, lesson_id: int, reason: str) -> Lesson:
    """The parent disputes a lesson within ``lesson.parent_confirm_days`` working days;
    its release stays pending until the institution accepts or a regulator decides."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": gettext_lazy("请填写异议理由")})
    with transaction.atomic():
        lesson, _ = lock_lesson(actor=actor, lesson_id=lesson_id, parent=True)
        LESSON_STATES.check(lesson.status, LessonStatus.DISPUTED)
        if timezone.localdate() > lesson.confirm_by:
            r = policy_resolve(CONFIRM_DAYS, lesson.division_code)
            raise r.violation(
                gettext_lazy("已过家长确认期限，视为确认"), confirm_by=lesson.confirm_by.isoformat()
            )
        move(LESSON_STATES, lesson, LessonStatus.DISPUTED, actor=actor, reason=reason[:500])
        lesson.save(update_fields=["status"])
        audit_record(actor=actor, action="funds.lesson_dispute", obj=lesson, changes={"reason": reason})
    return lesson


def lesson_dispute_resolve(*, actor, lesson_id: int, upheld: bool, note: str = "") -> Lesson:
    """The institution (accepting) or a regulator decides a dispute. Upheld: the order
    gets the lesson back and the pending release is voided back to its prepaid account
    (held, refundable); if the order was refunded meanwhile (its other fees already on
    their way back), the voided amount goes back to the parent at once through the refund
    path (``refunds.refund_voided``: an agreed refund paid by the next instruction).
    Rejected (a regulator only): the release is posted to the institution."""
    with transaction.atomic():
        lesson, order = lock_lesson(actor=actor, lesson_id=lesson_id, institution=True, regulator=True)
        a = None if is_system(actor) else actor_for(actor)
        if (
            not upheld
            and a
            and not a.is_platform_admin
            and not is_regulator_writer(actor, order.division_code)
        ):
            raise PermissionDeniedError(gettext_lazy("驳回异议须由监管部门决定"))
        target = LessonStatus.DISPUTE_UPHELD if upheld else LessonStatus.DISPUTE_REJECTED
        LESSON_STATES.check(lesson.status, target)
        before = lesson.status
        amount = _settle(lesson=lesson, order=order, target=target, actor=actor, reason=note[:500])
        fields = ["pending_fen", "released_fen"]
        refund = None
        if upheld:
            order.lessons_consumed -= 1
            fields += ["lessons_consumed", "status"]
            if order.status == OrderStatus.COMPLETED:
                move(ORDER_STATES, order, OrderStatus.PAID, actor=actor, reason="异议成立，退回一课时")
            elif order.status == OrderStatus.REFUNDED:
                from .refunds import refund_voided  # refunds stage releases through this module

                order.lessons_refunded += 1
                fields += ["lessons_refunded", "refunded_fen"]
                refund = refund_voided(actor=actor, order=order, amount=amount, lesson=lesson, note=note)
        order.save(update_fields=fields)
        audit_record(
            actor=actor,
            action="funds.lesson_dispute_resolve",
            obj=lesson,
            changes={
                "status": [before, target],
                ("voided_fen" if upheld else "posted_fen"): amount,
                "note": note,
                **({"refund_id": refund.pk} if refund else {}),
            },
        )
    return lesson


_COLUMNS = ("id", "released_fen", "posting_id", "institution_id", "order_id", "division_code", "bank_id")
_LESSON_COLUMNS = ", ".join(_COLUMNS)
# the status a literal, so that the partial index of lessons due serves the look-up
_DUE_SQL = (
    f"SELECT {{columns}} FROM {Lesson._meta.db_table} "  # noqa: S608 - our table names
    f"WHERE status = '{LessonStatus.RECORDED.value}' AND confirm_by < %s ORDER BY id LIMIT %s"
)
_LESSON_LOCK_SQL = (
    f"SELECT {', '.join('l.' + c for c in _COLUMNS)} "  # noqa: S608
    f"FROM unnest(%s::bigint[]) AS u(id) JOIN {Lesson._meta.db_table} l ON l.id = u.id "
    f"WHERE l.status = '{LessonStatus.RECORDED.value}' ORDER BY l.id FOR NO KEY UPDATE OF l"
)


@dataclass(frozen=True, slots=True)
class _Due:
    id: int
    released_fen: int
    posting_id: int | None
    institution_id: int
    order_id: int
    division_code: str
    bank_id: int | None


def lessons_deem_confirmed(
    *, actor=system("lesson-confirm"), today: date | None = None, chunk: int = DEEM_CHUNK
) -> int:
    """Lessons still unanswered after their deadline (``confirm_by``: N working days of
    ``lesson.parent_confirm_days``) count as confirmed, and their pending releases are
    posted. Set-based, ``chunk`` lessons per transaction, each committed whole: the job
    works from current state, so a run killed midway, or missed during downtime, is
    caught up by the next, and a lesson posted before is no longer due."""
    today = today or timezone.localdate()
    total = 0
    with bulk.gc_paused():
        while True:
            found, deemed = _deem_chunk(actor, today, chunk)
            total += deemed
            if found < chunk:
                return total


def _deem_chunk(actor, today: date, chunk: int) -> tuple[int, int]:
    """(lessons found due, lessons deemed): a lesson found due but answered by the
    parent before its lock was taken is not deemed, nor counted."""
    pg = bulk.is_pg()
    with transaction.atomic(), connection.cursor() as cur:
        if pg:
            cur.execute(_DUE_SQL.format(columns="id, order_id"), [today, chunk])
            due = cur.fetchall()
        else:
            # SQLite's transaction holds the database's write lock from its start
            # (IMMEDIATE): what it reads now cannot change before it commits
            cur.execute(_DUE_SQL.format(columns=_LESSON_COLUMNS), [today, chunk])
            lessons = [_Due(*r) for r in cur.fetchall()]
            due = [(x.id, x.order_id) for x in lessons]
        if not due:
            return 0, 0
        # the orders locked in id order, then the lessons (re-read: a parent may have
        # confirmed or disputed meanwhile), as every single-lesson writer does
        order_ids = sorted({o for _, o in due})
        lock = " ORDER BY id FOR NO KEY UPDATE" if pg else ""
        orders = {
            r[0]: [r[1], r[2]]
            for r in bulk.select_in(
                f"SELECT id, pending_fen, released_fen FROM {Order._meta.db_table} WHERE id {{in}}{lock}",  # noqa: S608
                order_ids,
            )
        }
        if pg:
            # joined to the ids as a set: with ``id = ANY(…)`` the planner may walk the
            # partial index of lessons due and test each against the whole array
            cur.execute(_LESSON_LOCK_SQL, [[i for i, _ in due]])
            lessons = [_Due(*r) for r in cur.fetchall()]
        inst_ids = sorted({x.institution_id for x in lessons})
        acc: dict[tuple[int, str], int] = {
            (i, k): pk
            for pk, i, k in bulk.select_in(
                f"SELECT id, institution_id, kind FROM {LedgerAccount._meta.db_table} "  # noqa: S608
                f"WHERE kind IN ('{AccountKind.PENDING_RELEASE.value}', '{AccountKind.SETTLEMENT.value}') "
                "AND institution_id {in}",
                inst_ids,
            )
        }
        target = LessonStatus.DEEMED_CONFIRMED
        specs: list[PostingSpec] = []
        posted_lessons: list[int] = []
        for x in lessons:
            s = settlement_of(
                x,
                target,
                pending_acc=acc.get((x.institution_id, AccountKind.PENDING_RELEASE), 0),
                settlement_acc=acc.get((x.institution_id, AccountKind.SETTLEMENT), 0),
                prepaid_acc=0,
            )
            if s.spec is None:
                continue
            o = orders[x.order_id]
            o[0] += s.pending_delta
            o[1] += s.released_delta
            specs.append(s.spec)
            posted_lessons.append(x.id)
        # the settling keys are new: each lesson was found unsettled under its lock, and
        # a settling posting is written with its lesson's status (the unique index would
        # refuse the chunk whole if that were ever wrong)
        pids = dict(zip(posted_lessons, post_ids(specs, keys_new=True), strict=True))
        LESSON_SETTLED.update([(x.id, target.value, pids.get(x.id)) for x in lessons])
        rules = _deeming_rules(lessons, today)
        for r, ids in rules:
            LESSON_STATES.record_many(
                ((i, LessonStatus.RECORDED.value, target.value) for i in ids),
                actor=actor,
                reason=r.sentence("逾期未确认，视为确认"),
            )
        ORDER_RELEASES.update([(oid, *v) for oid, v in sorted(orders.items())])
        if lessons:
            audit_record(
                actor=actor,
                action="funds.lessons_deem_confirmed",
                object_type="funds.lesson",
                object_id="*",
                changes={
                    "count": len(lessons),
                    "posted_fen": sum(s.legs[0][1] for s in specs),
                    "before": today.isoformat(),
                    "first": lessons[0].id,
                    "last": lessons[-1].id,
                    # the rule each lesson counted as confirmed under, with how many
                    "rules": [r.cite(count=len(ids)) for r, ids in rules],
                },
            )
    return len(due), len(lessons)


def _deeming_rules(lessons: list[_Due], today: date) -> list[tuple]:
    """The lessons grouped by the ``lesson.parent_confirm_days`` in force for them (one
    query for the chunk, each division resolved once): [(resolved rule, lesson ids)]."""
    batch = PolicyBatch([CONFIRM_DAYS], on=today)
    groups: dict[tuple, tuple] = {}
    for x in lessons:
        r = batch.resolve(CONFIRM_DAYS, x.division_code)
        groups.setdefault((r.division_code, r.effective_from), (r, []))[1].append(x.id)
    return list(groups.values())


def release_pending(*, orders: list[Order], frozen: bool, key_prefix: str) -> int:
    """Stage what became due but was not moved (after an unfreeze, or when a refund
    closes a staged order): per order, the amount goes pending on its latest lesson that
    is still unanswered and moved nothing, or, if every lesson is answered, straight to
    settlement. The orders must be locked by the caller."""
    if frozen or not orders:
        return 0
    total = 0
    for o in orders:
        amount = release_target(o, o.lessons_consumed) - o.released_fen - o.pending_fen
        if amount <= 0:
            continue
        pending, settlement, prepaid = _accounts(o)
        lesson = (
            Lesson.objects.select_for_update(no_key=True)
            .filter(order_id=o.pk, status__in=LESSON_PENDING, posting_id__isnull=True)
            .order_by("-id")
            .first()
        )
        spec = PostingSpec(
            key=f"{key_prefix}:release:{o.pk}:{o.released_fen + o.pending_fen}",
            code=PostingCode.RELEASE_PENDING if lesson else PostingCode.RELEASE,
            legs=((prepaid, amount), ((pending if lesson else settlement), -amount)),
            institution_id=o.institution_id,
            division_code=o.division_code,
            order_id=o.pk,
            bank_id=o.bank_id,
        )
        pid = post([spec])[0].pk
        if lesson:
            lesson.released_fen, lesson.posting_id = amount, pid
            lesson.save(update_fields=["released_fen", "posting_id"])
            o.pending_fen += amount
        else:
            o.released_fen += amount
        o.save(update_fields=["pending_fen", "released_fen"])
        total += amount
    return total


__all__ = [
    "lesson_confirm",
    "lesson_dispute",
    "lesson_dispute_resolve",
    "lessons_deem_confirmed",
    "release_pending",
    "settlement_of",
]
