"""Lesson consumption (消课): a lesson recorded, singly (the API's hot path) or in
set-based batches, moves its price from the order's prepaid account into a pending
release (一课一消: still in custody, still the parent's money) that the parent's
confirmation, the deemed-confirm job or a regulator's decision later posts or voids
(``confirmation``). What each lesson does is decided by ``lesson_plan.plan_lesson``;
this module only locks and writes."""

import gc
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from qinglang.accounts.permissions import is_system
from qinglang.accounts.scope import actor_for
from qinglang.core import bulk
from qinglang.core.audit import audit_record
from qinglang.core.calendar import add_working_days
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.models import PolicyParameter
from qinglang.core.policy import division_chain, policy_resolve
from qinglang.core.policy_defaults import BY_KEY
from qinglang.registry.models import Institution
from qinglang.registry.services import rules as registry_rules

from ..ledger import AlreadyPosted, PostingSpec, account_get_or_create, post_ids, post_one
from ..models import (
    LESSON_STATES,
    ORDER_STATES,
    AccountKind,
    CustodyAccount,
    LedgerAccount,
    Lesson,
    LessonBatch,
    LessonStatus,
    Order,
    PostingCode,
)
from .common import is_institution_user, is_regulator_writer, lock_institution_row
from .lesson_plan import plan_lesson

MAX_BATCH = 100_000
CONFIRM_DAYS = "lesson.parent_confirm_days"
REPORT_KEEP = 1000
LESSON_COLS = (
    "institution_id",
    "order_id",
    "event_id",
    "given_at",
    "status",
    "confirm_by",
    "released_fen",
    "posting_id",
    "settled_posting_id",
    "batch_id",
    "bank_id",
    "division_code",
    "created_at",
)
LESSONS = bulk.Table(Lesson, LESSON_COLS)
# the batch path names its lessons' ids up front (allocate_ids) for their transition rows
LESSONS_WITH_ID = bulk.Table(Lesson, ("id", *LESSON_COLS))
ORDER_PROGRESS = bulk.Table(Order, ("lessons_consumed", "pending_fen", "status"))


@dataclass
class EventResult:
    line: int
    event_id: str
    result: str  # accepted / duplicate / refused
    reason: str = ""
    code: str = ""


@dataclass
class BatchOutcome:
    batch: LessonBatch | None
    results: list[EventResult]

    @property
    def counts(self) -> dict[str, int]:
        out = {"accepted": 0, "duplicate": 0, "refused": 0}
        for r in self.results:
            out[r.result] += 1
        return out


def _parse_row(n: int, row, now: datetime) -> tuple[str, int, datetime] | EventResult:
    if isinstance(row, str):
        return EventResult(n, "", "refused", row, "malformed")
    if not isinstance(row, dict):
        return EventResult(n, "", "refused", "行格式不正确(应为对象)", "malformed")
    event_id = str(row.get("event_id") or "").strip()
    if not event_id or len(event_id) > 64:
        return EventResult(n, event_id[:64], "refused", "缺少事件编号或过长(event_id)", "malformed")
    raw_order = row.get("order_id")
    try:
        if isinstance(raw_order, (bool, float)):
            raise ValueError
        order_id = int(str(raw_order).strip())
        if order_id <= 0:
            raise ValueError
    except (TypeError, ValueError):
        return EventResult(n, event_id, "refused", f"订单号不正确：{raw_order!r}", "malformed")
    given = row.get("given_at")
    when = None
    if isinstance(given, datetime):
        when = given
    elif given:
        try:
            when = parse_datetime(str(given).strip())
        except ValueError:
            when = None
        if when is None:
            return EventResult(n, event_id, "refused", f"上课时间格式不正确：{given!r}", "malformed")
    when = when or now
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    for extra in ("amount_fen", "lessons"):
        if extra in row and row[extra] not in (None, "", 1, "1"):
            return EventResult(
                n, event_id, "refused", f"{extra} 只能为 1 个课时，金额由订单决定", "malformed"
            )
    return event_id, order_id, when


@lru_cache(maxsize=32)
def _confirm_by(day: date, confirm_days: int) -> date:
    """``add_working_days`` is pure and walks the calendar day by day; lessons of one day
    share their deadline."""
    return add_working_days(day, confirm_days)


# the order of one lesson, with its custody freeze flag and its ledger accounts
_ONE_ORDER_COLS = (
    "id",
    "status",
    "lessons",
    "lessons_consumed",
    "lessons_refunded",
    "unit_price_fen",
    "paid_fen",
    "pending_fen",
    "released_fen",
    "refunded_fen",
    "release_rule",
    "starts_on",
    "ends_on",
    "division_code",
    "bank_id",
)
_SEEN = (
    f"(SELECT l.id FROM {Lesson._meta.db_table} l "  # noqa: S608 - our table names
    "WHERE l.institution_id = %s AND l.event_id = %s)"
)
_SEEN_SQL = f"SELECT {_SEEN}"
_ONE_ORDER_SQL = (
    f"SELECT {_SEEN}, {{policy}}, "  # noqa: S608 - our table names
    f"(SELECT c.releases_frozen FROM {CustodyAccount._meta.db_table} c "
    "WHERE c.institution_id = o.institution_id), "
    f"(SELECT a.id FROM {LedgerAccount._meta.db_table} a WHERE a.order_id = o.id), "
    f"(SELECT a.id FROM {LedgerAccount._meta.db_table} a WHERE a.institution_id = o.institution_id "
    f"AND a.kind = '{AccountKind.PENDING_RELEASE.value}'), "
    f"{', '.join('o.' + c for c in _ONE_ORDER_COLS)} "
    f"FROM {Order._meta.db_table} o WHERE o.id = %s AND o.institution_id = %s"
)


def policy_subquery(key: str, division_code: str, on: date) -> tuple[str, list]:
    """``policy_resolve(key, division_code, on=on).value`` as a scalar subquery (read
    with ``policy_value_from_db``), to ride along a statement the caller runs anyway:
    the most specific division's figure in force, the newest within a division, the
    national default if none (``test_hot_paths`` holds it equal to ``policy_resolve``)."""
    chain = division_chain(division_code or "")
    sql = (
        f"(SELECT p.value FROM {PolicyParameter._meta.db_table} p "  # noqa: S608 - our table names
        f"WHERE p.key = %s AND p.division_code IN ({', '.join(['%s'] * len(chain))}) "
        "AND p.effective_from <= %s ORDER BY length(p.division_code) DESC, p.effective_from DESC LIMIT 1)"
    )
    return sql, [key, *chain, on]


def policy_value_from_db(key: str, raw):
    value = PolicyParameter._meta.get_field("value").from_db_value(raw, None, connection)
    return BY_KEY[key].value if value is None else value


def _check_writer(actor, inst) -> None:
    if is_system(actor) or actor_for(actor).is_platform_admin:
        return
    if is_institution_user(actor, inst.pk):
        return
    if is_regulator_writer(actor, inst.division_code):
        raise PermissionDeniedError("消课由机构记录")
    from qinglang.accounts.scope import in_scope

    if in_scope(inst, actor, regulator_department=False):
        raise PermissionDeniedError("消课由机构记录")
    raise NotFound("机构")


def lesson_batch_import(
    *, actor, institution_id: int, rows: Iterable, filename: str = "", now: datetime | None = None
) -> BatchOutcome:
    """Set-based consumption of up to 100,000 lesson events in one transaction: one
    lock per order, aggregated balance updates, bulk inserts. Each event is accepted,
    a duplicate (its event id was seen before: a no-op) or refused with a reason; the
    batch is applied whole or not at all."""
    with _gc_paused():
        return _batch_import(actor, institution_id, rows, filename, now or timezone.now())


@contextmanager
def _gc_paused():
    """A batch allocates a few objects per event and frees none of them until it ends,
    so the cyclic collector would walk them again and again for nothing (a quarter of
    the time of a 50,000-event batch). It runs again, with everything freed, after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _batch_import(actor, institution_id: int, rows: Iterable, filename: str, now: datetime) -> BatchOutcome:
    results: list[EventResult] = []
    default_when = now
    parsed: list[tuple[int, str, int, datetime]] = []
    for n, row in enumerate(rows, start=1):
        if n > MAX_BATCH:
            raise DomainError(
                "batch_too_large", f"单批最多 {MAX_BATCH} 条消课记录", {"max": MAX_BATCH}, status=422
            )
        p = _parse_row(n, row, default_when)
        if isinstance(p, EventResult):
            results.append(p)
        else:
            parsed.append((n, *p))
    with transaction.atomic():
        inst = lock_institution_row(institution_id)
        _check_writer(actor, inst)
        custody = CustodyAccount.objects.filter(institution_id=inst.pk).first()
        frozen = bool(custody and custody.releases_frozen)
        confirm_days = int(policy_resolve(CONFIRM_DAYS, inst.division_code).value or 15)
        confirm_by = _confirm_by(timezone.localdate(now), confirm_days)
        # idempotency: every event id of the batch looked up at once (the institution
        # row lock above serialises this institution's batches, so none can race in)
        seen: set[str] = {
            r[0]
            for r in bulk.select_in(
                f"SELECT event_id FROM {Lesson._meta.db_table} "  # noqa: S608
                "WHERE institution_id = %s AND event_id {in}",
                list({e for _, e, _, _ in parsed}),
                params=[inst.pk],
            )
        }
        step = bulk.in_chunk()
        # one lock per order, taken in id order (concurrent refunds lock the same rows)
        order_ids = sorted({o for _, _, o, _ in parsed})
        orders: dict[int, Order] = {}
        for i in range(0, len(order_ids), step):
            for o in (
                Order.objects.select_for_update(no_key=True)
                .filter(pk__in=order_ids[i : i + step], institution_id=inst.pk)
                .order_by("id")
            ):
                orders[o.id] = o
        start = {o.id: (o.lessons_consumed, o.pending_fen, o.status) for o in orders.values()}
        accounts = institution_release_accounts(inst, custody and custody.bank_id)
        pending_id = accounts[AccountKind.PENDING_RELEASE]
        prepaid = _prepaid_ids(list(orders)) if orders else {}
        recorded = LessonStatus.RECORDED.value
        staging = PostingCode.RELEASE_PENDING.value
        inst_id = inst.id
        stages: dict[str, list] = {}
        days: dict[datetime, date] = {}
        lessons: list[list] = []  # rows of LESSON_COLS, posting_id and batch_id filled below
        specs: list[PostingSpec] = []
        spec_lesson: list[list] = []
        row = LESSONS_WITH_ID.row
        for n, event_id, order_id, when in parsed:
            if event_id in seen:
                results.append(EventResult(n, event_id, "duplicate", "事件编号已记录，忽略"))
                continue
            order = orders.get(order_id)
            given_on = days.get(when)
            if given_on is None:
                given_on = days[when] = timezone.localdate(when)
            plan = plan_lesson(order, order_id, frozen=frozen, given_on=given_on, stages=stages)
            if plan.refusal:
                results.append(EventResult(n, event_id, "refused", *plan.refusal))
                continue
            seen.add(event_id)
            amount = plan.amount
            lesson = row(
                id=None,
                institution_id=inst_id,
                order_id=order_id,
                event_id=event_id,
                given_at=when,
                status=recorded,
                confirm_by=confirm_by,
                released_fen=amount,
                posting_id=None,
                settled_posting_id=None,
                batch_id=None,
                bank_id=order.bank_id,
                division_code=order.division_code,
                created_at=now,
            )
            if amount:
                specs.append(
                    PostingSpec(
                        f"lesson:{inst_id}:{event_id}",
                        staging,
                        ((prepaid[order_id], amount), (pending_id, -amount)),
                        inst_id,
                        order.division_code,
                        order_id,
                        order.bank_id,
                    )
                )
                spec_lesson.append(lesson)
            order.lessons_consumed = plan.lessons_consumed
            order.pending_fen = plan.pending_fen
            order.status = plan.status
            lessons.append(lesson)
            results.append(EventResult(n, event_id, "accepted"))
        if specs:
            # keys of lessons never seen cannot exist: a lesson and its posting are
            # written in one transaction
            posting_ids = post_ids(specs, now=now, keys_new=True)
            for lesson, pid in zip(spec_lesson, posting_ids, strict=True):
                LESSONS_WITH_ID.set(lesson, "posting_id", pid)
        results.sort(key=lambda r: r.line)
        counts = {"accepted": 0, "duplicate": 0, "refused": 0}
        for r in results:
            counts[r.result] += 1
        batch = None
        if len(results) > 1 or filename:
            batch = LessonBatch.objects.create(
                institution=inst,
                division_code=inst.division_code,
                filename=filename[:200],
                created_by_id=None if is_system(actor) else actor.pk,
                report=[r.__dict__ for r in results if r.result != "accepted"][:REPORT_KEEP],
                **counts,
            )
            for lesson in lessons:
                LESSONS_WITH_ID.set(lesson, "batch_id", batch.id)
        lesson_ids = bulk.allocate_ids(Lesson, len(lessons))
        for lesson, pk in zip(lessons, lesson_ids, strict=True):
            lesson[0] = pk  # "id" is the table's first column
        LESSONS_WITH_ID.insert(lessons)
        # transition rows, set-based: each lesson's first (待家长确认), and the orders
        # this batch completed
        LESSON_STATES.record_many(((pk, recorded, recorded) for pk in lesson_ids), actor=actor, at=now)
        changed = [
            (o.id, o.lessons_consumed, o.pending_fen, o.status)
            for o in sorted(orders.values(), key=lambda o: o.id)
            if (o.lessons_consumed, o.pending_fen) != start[o.id][:2]
        ]
        ORDER_PROGRESS.update(changed)
        ORDER_STATES.record_many(
            [(o.id, start[o.id][2], o.status) for o in orders.values() if o.status != start[o.id][2]],
            actor=actor,
            reason="课时消完",
            at=now,
        )
        if lessons:
            audit_record(
                actor=actor,
                action="funds.lessons_record",
                object_type="funds.lessonbatch" if batch else "funds.lesson",
                object_id=batch.pk if batch else lessons[0][2],
                division_code=inst.division_code,
                changes={**counts, "pending_fen": sum(s.legs[0][1] for s in specs), "frozen": frozen},
            )
    return BatchOutcome(batch, results)


def institution_release_accounts(inst, bank_id) -> dict[str, int]:
    """The institution's pending-release and settlement account ids (created at need)."""
    return {
        k: account_get_or_create(institution=inst, kind=k, bank_id=bank_id).pk
        for k in (AccountKind.PENDING_RELEASE, AccountKind.SETTLEMENT)
    }


def _as_date(v):
    return date.fromisoformat(v) if isinstance(v, str) else v


def _prepaid_ids(order_ids: list[int]) -> dict[int, int]:
    out = {}
    step = bulk.in_chunk()
    for i in range(0, len(order_ids), step):
        out.update(
            LedgerAccount.objects.filter(order_id__in=order_ids[i : i + step]).values_list("order_id", "id")
        )
    return out


def lesson_record(
    *, actor, institution_id: int, order_id: int, event_id: str, given_at=None
) -> tuple[Lesson, str]:
    """One lesson (institution end, API): returns the lesson and "accepted" or
    "duplicate"; a refusal raises with its reason. The same rules as a batch of one,
    on a path built for many concurrent callers: see ``_record_one``."""
    now = timezone.now()
    p = _parse_row(1, {"event_id": event_id, "order_id": order_id, "given_at": given_at}, now)
    if isinstance(p, EventResult):
        raise DomainError(p.code, p.reason, {"event_id": p.event_id}, status=422)
    # training hours (registry rule): recorded before, and kept after, a refusal
    registry_rules.lesson_hours_check(
        actor=actor,
        course_id=Order.objects.filter(pk=order_id, institution_id=institution_id).values("course_id")[:1],
        starts_at=p[2],
        ref=f"lesson:{institution_id}:{event_id}",
    )
    try:
        return _record_one(actor, institution_id, *p, now)
    except (IntegrityError, AlreadyPosted):
        # the same event id recorded concurrently through another order: the unique
        # index made us wait for it, and now it is a duplicate
        return _record_one(actor, institution_id, *p, now)


def _record_one(actor, institution_id: int, event_id: str, order_id: int, when, now) -> tuple[Lesson, str]:
    """Locks, in the order every funds writer takes them: the institution row shared
    (batches, freezes and the institution's other writes hold it exclusively, so they
    still exclude this, but single lessons don't wait for each other), then the order;
    the accounts (the institution's settlement account is touched by every lesson) and
    the audit head only at the end, so they are held for a few statements and the
    commit. Two single lessons racing with one event id meet at the unique index
    (``lesson_event_unique``): the second waits for the first, fails, and the caller
    retries it as a duplicate."""
    pg = bulk.is_pg()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"SELECT id, division_code FROM {Institution._meta.db_table} WHERE id = %s"  # noqa: S608
            + (" FOR SHARE" if pg else ""),
            [institution_id],
        )
        row = cur.fetchone()
        if row is None:
            raise NotFound("机构")
        inst_pk, inst_division = row
        if not is_institution_user(actor, inst_pk):
            _check_writer(actor, Institution.objects.get(pk=inst_pk))
        # the order, locked, with what the lesson needs: whether the event was seen, the
        # confirmation period in force, the freeze flag, the two accounts
        policy, policy_params = policy_subquery(CONFIRM_DAYS, inst_division, timezone.localdate(now))
        cur.execute(
            _ONE_ORDER_SQL.format(policy=policy) + (" FOR NO KEY UPDATE OF o" if pg else ""),
            [inst_pk, event_id, *policy_params, order_id, inst_pk],
        )
        row = cur.fetchone()
        if row is None:  # unknown order: a duplicate event still wins over the refusal
            cur.execute(_SEEN_SQL, [inst_pk, event_id])
            row = (cur.fetchone()[0], None, None, None, None)
        if row[0] is not None:
            return Lesson.objects.get(pk=row[0]), "duplicate"
        confirm_days, frozen, prepaid_id, pending_id = row[1:5]
        order = None
        if len(row) > 5:
            order = Order(**dict(zip(_ONE_ORDER_COLS, row[5:], strict=True)), institution_id=inst_pk)
            if not pg:  # SQLite gives dates back as text here
                order.starts_on = _as_date(order.starts_on)
                order.ends_on = _as_date(order.ends_on)
        plan = plan_lesson(order, order_id, frozen=bool(frozen), given_on=timezone.localdate(when))
        if plan.refusal:
            raise DomainError(plan.refusal[1], plan.refusal[0], {"event_id": event_id}, status=422)
        before_status = order.status
        amount = plan.amount
        confirm_days = int(policy_value_from_db(CONFIRM_DAYS, confirm_days) or 15)
        lesson = Lesson(
            institution_id=inst_pk,
            order_id=order.pk,
            event_id=event_id,
            given_at=when,
            status=LessonStatus.RECORDED,
            confirm_by=_confirm_by(timezone.localdate(now), confirm_days),
            released_fen=amount,
            bank_id=order.bank_id,
            division_code=order.division_code,
            created_at=now,
        )
        pending = None
        if amount > 0:
            if pending_id is None:
                pending_id = institution_release_accounts(
                    Institution(pk=inst_pk, division_code=inst_division), order.bank_id
                )[AccountKind.PENDING_RELEASE]
            pending = post_one(
                PostingSpec(
                    key=f"lesson:{inst_pk}:{event_id}",
                    code=PostingCode.RELEASE_PENDING,
                    legs=((prepaid_id, amount), (pending_id, -amount)),
                    institution_id=inst_pk,
                    division_code=order.division_code,
                    order_id=order.pk,
                    bank_id=order.bank_id,
                ),
                now=now,
                retry_ok=False,  # posted meanwhile: the event was recorded through another order
            )
            lesson.posting_id = pending.posting_id
        order.lessons_consumed, order.pending_fen, order.status = (
            plan.lessons_consumed,
            plan.pending_fen,
            plan.status,
        )
        ops = connection.ops
        values = {c: getattr(lesson, c) for c in LESSON_COLS}
        for c in ("given_at", "created_at"):
            values[c] = ops.adapt_datetimefield_value(values[c])
        values["confirm_by"] = ops.adapt_datefield_value(values["confirm_by"])
        values = LESSONS.row(**values)
        insert = (
            f"INSERT INTO {Lesson._meta.db_table} ({', '.join(LESSON_COLS)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(LESSON_COLS))}) RETURNING id"
        )
        update = f"UPDATE {Order._meta.db_table} SET lessons_consumed = %s, pending_fen = %s, status = %s WHERE id = %s"  # noqa: S608
        order_values = [order.lessons_consumed, order.pending_fen, order.status, order.pk]
        if pg:  # one statement
            cur.execute(f"WITH l AS ({insert}), o AS ({update}) SELECT id FROM l", [*values, *order_values])  # noqa: S608
            lesson.pk = cur.fetchone()[0]
        else:
            cur.execute(insert, values)
            lesson.pk = cur.fetchone()[0]
            cur.execute(update, order_values)
        lesson._state.adding = False
        lesson._state.db = connection.alias
        if pending:
            pending.apply()
        LESSON_STATES.record_many([(lesson.pk, lesson.status, lesson.status)], actor=actor, at=now)
        if plan.status != before_status:
            ORDER_STATES.record_many(
                [(order.pk, before_status, plan.status)], actor=actor, reason="课时消完", at=now
            )
        audit_record(
            actor=actor,
            action="funds.lessons_record",
            object_type="funds.lesson",
            object_id=event_id,
            division_code=inst_division,
            changes={
                "accepted": 1,
                "duplicate": 0,
                "refused": 0,
                "pending_fen": lesson.released_fen,
                "frozen": bool(frozen),
            },
        )
    return lesson, "accepted"


__all__ = ["BatchOutcome", "EventResult", "lesson_batch_import", "lesson_record"]
