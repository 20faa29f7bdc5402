"""Lesson consumption (消课): a lesson recorded, singly (the API's hot path) or in
set-based batches, moves its price from the order's prepaid account into a pending
release (一课一消: still in custody, still the parent's money) that the parent's
confirmation, the deemed-confirm job or a regulator's decision later posts or voids
(``confirmation``). What each lesson does is decided by ``lesson_plan.plan_lesson``;
this module only locks and writes: what both paths share and the batch path here, the
single lesson's path in ``consumption_single``."""

import gc
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from qinglang.accounts.permissions import is_system
from qinglang.accounts.scope import actor_for
from qinglang.core import bulk
from qinglang.core.audit import audit_record
from qinglang.core.calendar import add_working_days
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.policy import policy_resolve
from qinglang.registry.models import Institution
from qinglang.registry.services import rules as registry_rules

from ..ledger import PostingSpec, account_get_or_create, post_ids
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
        return _count(self.results)


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


def _check_writer(actor, inst) -> None:
    if is_system(actor) or actor_for(actor).is_platform_admin:
        return
    if is_institution_user(actor, inst.pk):
        return
    if is_regulator_writer(actor, inst.division_code):
        raise PermissionDeniedError(gettext_lazy("消课由机构记录"))
    from qinglang.accounts.scope import in_scope

    if in_scope(inst, actor, regulator_department=False):
        raise PermissionDeniedError(gettext_lazy("消课由机构记录"))
    raise NotFound(gettext_lazy("机构"))


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
    """The rows checked, the locks taken, each event planned; then the pending releases
    posted, the batch's report, the lessons and the orders' progress written, audited."""
    results, parsed = _parse_rows(rows, now)
    with transaction.atomic():
        locked = _lock_batch(actor, institution_id, parsed, now)
        planned = _plan_events(parsed, locked, results, now)
        _post_pending(planned, now)
        results.sort(key=lambda r: r.line)
        counts = _count(results)
        batch = _batch_report(actor, locked.inst, filename, results, counts, planned.lessons)
        lesson_ids = _insert_lessons(planned.lessons)
        _record_progress(actor, locked, lesson_ids, now)
        if planned.lessons:
            audit_record(
                actor=actor,
                action="funds.lessons_record",
                object_type="funds.lessonbatch" if batch else "funds.lesson",
                object_id=batch.pk if batch else planned.lessons[0][2],
                division_code=locked.inst.division_code,
                changes={
                    **counts,
                    "pending_fen": sum(s.legs[0][1] for s in planned.specs),
                    "frozen": locked.frozen,
                },
            )
    return BatchOutcome(batch, results)


def _parse_rows(
    rows: Iterable, now: datetime
) -> tuple[list[EventResult], list[tuple[int, str, int, datetime]]]:
    """The rows checked one by one, before any lock: the malformed refused, the rest
    parsed (line, event id, order id, time given)."""
    results: list[EventResult] = []
    parsed: list[tuple[int, str, int, datetime]] = []
    for n, row in enumerate(rows, start=1):
        if n > MAX_BATCH:
            raise DomainError(
                "batch_too_large",
                format_lazy(gettext_lazy("单批最多 {MAX_BATCH} 条消课记录"), MAX_BATCH=MAX_BATCH),
                {"max": MAX_BATCH},
                status=422,
            )
        p = _parse_row(n, row, now)
        if isinstance(p, EventResult):
            results.append(p)
        else:
            parsed.append((n, *p))
    return results, parsed


@dataclass
class _LockedBatch:
    """What a batch holds once its locks are taken: the institution, its freeze flag and
    the confirmation deadline, the event ids seen before, the orders (locked) with their
    progress at the start, and the ledger accounts the lessons post to."""

    inst: Institution
    frozen: bool
    confirm_by: date
    seen: set[str]
    orders: dict[int, Order]
    start: dict[int, tuple[int, int, str]]
    pending_id: int
    prepaid: dict[int, int]


def _lock_batch(actor, institution_id: int, parsed: list, now: datetime) -> _LockedBatch:
    """The institution row locked (it serialises the institution's batches) and the writer
    checked; then what the events need, the orders locked in turn."""
    inst = lock_institution_row(institution_id)
    _check_writer(actor, inst)
    custody = CustodyAccount.objects.filter(institution_id=inst.pk).first()
    confirm_days = int(policy_resolve(CONFIRM_DAYS, inst.division_code).value or 15)
    seen = _events_seen(inst, parsed)
    orders = _lock_orders(inst, parsed)
    return _LockedBatch(
        inst=inst,
        frozen=bool(custody and custody.releases_frozen),
        confirm_by=_confirm_by(timezone.localdate(now), confirm_days),
        seen=seen,
        orders=orders,
        start={o.id: (o.lessons_consumed, o.pending_fen, o.status) for o in orders.values()},
        pending_id=institution_release_accounts(inst, custody and custody.bank_id)[
            AccountKind.PENDING_RELEASE
        ],
        prepaid=_prepaid_ids(list(orders)) if orders else {},
    )


def _events_seen(inst, parsed: list) -> set[str]:
    """Idempotency: every event id of the batch looked up at once (the institution row
    lock serialises this institution's batches, so none can race in)."""
    return {
        r[0]
        for r in bulk.select_in(
            f"SELECT event_id FROM {Lesson._meta.db_table} "  # noqa: S608
            "WHERE institution_id = %s AND event_id {in}",
            list({e for _, e, _, _ in parsed}),
            params=[inst.pk],
        )
    }


def _lock_orders(inst, parsed: list) -> dict[int, Order]:
    """One lock per order, taken in id order (concurrent refunds lock the same rows)."""
    step = bulk.in_chunk()
    order_ids = sorted({o for _, _, o, _ in parsed})
    orders: dict[int, Order] = {}
    for i in range(0, len(order_ids), step):
        for o in (
            Order.objects.select_for_update(no_key=True)
            .filter(pk__in=order_ids[i : i + step], institution_id=inst.pk)
            .order_by("id")
        ):
            orders[o.id] = o
    return orders


@dataclass
class _PlannedBatch:
    lessons: list[list]  # rows of LESSONS_WITH_ID, id, posting_id and batch_id filled later
    specs: list[PostingSpec]  # each lesson's pending release, when it moves money
    spec_lesson: list[list]  # the lesson of each spec


def _plan_events(
    parsed: list, locked: _LockedBatch, results: list[EventResult], now: datetime
) -> _PlannedBatch:
    """Each event in turn: a duplicate of one seen, refused by the order's rules, or
    accepted as a lesson row (with its pending release) that moves its order on."""
    planned = _PlannedBatch([], [], [])
    seen, orders, prepaid, pending_id = locked.seen, locked.orders, locked.prepaid, locked.pending_id
    inst_id, frozen, confirm_by = locked.inst.id, locked.frozen, locked.confirm_by
    recorded = LessonStatus.RECORDED.value
    staging = PostingCode.RELEASE_PENDING.value
    stages: dict[str, list] = {}
    days: dict[datetime, date] = {}
    row = LESSONS_WITH_ID.row
    # training hours (registry rule), as for a single lesson: a subject course's lesson
    # outside them is refused, any lesson ending late is taken and recorded
    hours = registry_rules.LessonHours(o.course_id for o in orders.values())
    for n, event_id, order_id, when in parsed:
        if event_id in seen:
            results.append(EventResult(n, event_id, "duplicate", "事件编号已记录，忽略"))
            continue
        order = orders.get(order_id)
        refused = order and hours.check(order.course_id, when, f"lesson:{inst_id}:{event_id}")
        if refused:
            results.append(EventResult(n, event_id, "refused", refused, "policy_violation"))
            continue
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
            planned.specs.append(
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
            planned.spec_lesson.append(lesson)
        order.lessons_consumed = plan.lessons_consumed
        order.pending_fen = plan.pending_fen
        order.status = plan.status
        planned.lessons.append(lesson)
        results.append(EventResult(n, event_id, "accepted"))
    hours.save()
    return planned


def _post_pending(planned: _PlannedBatch, now: datetime) -> None:
    """The lessons' pending releases posted at once, each lesson naming its posting."""
    if planned.specs:
        # keys of lessons never seen cannot exist: a lesson and its posting are
        # written in one transaction
        posting_ids = post_ids(planned.specs, now=now, keys_new=True)
        for lesson, pid in zip(planned.spec_lesson, posting_ids, strict=True):
            LESSONS_WITH_ID.set(lesson, "posting_id", pid)


def _count(results: list[EventResult]) -> dict[str, int]:
    counts = {"accepted": 0, "duplicate": 0, "refused": 0}
    for r in results:
        counts[r.result] += 1
    return counts


def _batch_report(
    actor, inst, filename: str, results: list[EventResult], counts: dict[str, int], lessons: list[list]
) -> LessonBatch | None:
    """The batch row with its report (more than one event, or a file), named by its lessons."""
    if not (len(results) > 1 or filename):
        return None
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
    return batch


def _insert_lessons(lessons: list[list]) -> list[int]:
    """The lessons inserted set-based under ids allocated up front; their ids."""
    lesson_ids = bulk.allocate_ids(Lesson, len(lessons))
    for lesson, pk in zip(lessons, lesson_ids, strict=True):
        lesson[0] = pk  # "id" is the table's first column
    LESSONS_WITH_ID.insert(lessons)
    return lesson_ids


def _record_progress(actor, locked: _LockedBatch, lesson_ids: list[int], now: datetime) -> None:
    """Transition rows, set-based: each lesson's first (待家长确认); the orders' new
    counters, and the status of those this batch completed."""
    recorded = LessonStatus.RECORDED.value
    LESSON_STATES.record_many(((pk, recorded, recorded) for pk in lesson_ids), actor=actor, at=now)
    orders, start = locked.orders, locked.start
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


def institution_release_accounts(inst, bank_id) -> dict[str, int]:
    """The institution's pending-release and settlement account ids (created at need)."""
    return {
        k: account_get_or_create(institution=inst, kind=k, bank_id=bank_id).pk
        for k in (AccountKind.PENDING_RELEASE, AccountKind.SETTLEMENT)
    }


def _prepaid_ids(order_ids: list[int]) -> dict[int, int]:
    out = {}
    step = bulk.in_chunk()
    for i in range(0, len(order_ids), step):
        out.update(
            LedgerAccount.objects.filter(order_id__in=order_ids[i : i + step]).values_list("order_id", "id")
        )
    return out


__all__ = ["BatchOutcome", "EventResult", "lesson_batch_import"]
