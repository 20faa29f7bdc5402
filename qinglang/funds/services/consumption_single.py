"""One lesson recorded (消课), the API's hot path: the same rules as a batch of one
(``consumption``, ``lesson_plan.plan_lesson``), on a path built for many concurrent
callers: one statement reads the order (locked) with everything the lesson needs, one
writes the lesson and the order's progress."""

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qinglang.core import bulk
from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError, NotFound
from qinglang.core.models import PolicyParameter
from qinglang.core.policy import division_chain
from qinglang.core.policy_defaults import BY_KEY
from qinglang.registry.models import Course, Institution
from qinglang.registry.services import rules as registry_rules

from ..ledger import AlreadyPosted, Pending, PostingSpec, post_one
from ..models import (
    LESSON_STATES,
    ORDER_STATES,
    AccountKind,
    CustodyAccount,
    LedgerAccount,
    Lesson,
    LessonStatus,
    Order,
    PostingCode,
)
from .common import is_institution_user
from .consumption import (
    CONFIRM_DAYS,
    LESSON_COLS,
    LESSONS,
    EventResult,
    _check_writer,
    _confirm_by,
    _parse_row,
    institution_release_accounts,
)
from .lesson_plan import plan_lesson

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
# what the lesson's training-hours check needs (``registry_rules.lesson_hours_clear``)
_HOURS_COLS = ("course_kind", "lesson_minutes", "mode")
_ONE_ORDER_SQL = (
    f"SELECT {_SEEN}, {{policy}}, "  # noqa: S608 - our table names
    f"(SELECT c.releases_frozen FROM {CustodyAccount._meta.db_table} c "
    "WHERE c.institution_id = o.institution_id), "
    f"(SELECT a.id FROM {LedgerAccount._meta.db_table} a WHERE a.order_id = o.id), "
    f"(SELECT a.id FROM {LedgerAccount._meta.db_table} a WHERE a.institution_id = o.institution_id "
    f"AND a.kind = '{AccountKind.PENDING_RELEASE.value}'), "
    f"c.kind, c.lesson_minutes, i.mode, {{hours}}, "
    f"{', '.join('o.' + c for c in _ONE_ORDER_COLS)} "
    f"FROM {Order._meta.db_table} o "
    f"JOIN {Course._meta.db_table} c ON c.id = o.course_id "
    f"JOIN {Institution._meta.db_table} i ON i.id = o.institution_id "
    "WHERE o.id = %s AND o.institution_id = %s"
)
_HEAD = 5  # the columns before the course's: seen, policy, frozen, prepaid, pending


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
    try:
        return _record_one(actor, institution_id, *p, now)
    except _HoursBroken:
        # training hours (registry rule): the violation is recorded outside the lesson's
        # transaction, so that it is kept after a refusal; a lesson that is only flagged
        # (not a subject course) is then recorded as usual
        registry_rules.lesson_hours_check(
            actor=actor,
            course_id=Order.objects.filter(pk=order_id, institution_id=institution_id).values("course_id")[
                :1
            ],
            starts_at=p[2],
            ref=f"lesson:{institution_id}:{event_id}",
        )
        return _record_checked(actor, institution_id, p, now)
    except (IntegrityError, AlreadyPosted):
        # the same event id recorded concurrently through another order: the unique
        # index made us wait for it, and now it is a duplicate
        return _record_one(actor, institution_id, *p, now)


def _record_checked(actor, institution_id: int, p, now) -> tuple[Lesson, str]:
    """``_record_one`` of a lesson whose training-hours violation is already recorded."""
    try:
        return _record_one(actor, institution_id, *p, now, hours_checked=True)
    except (IntegrityError, AlreadyPosted):
        return _record_one(actor, institution_id, *p, now, hours_checked=True)


class _HoursBroken(Exception):
    """The lesson breaks a training-hours rule: its transaction is left, with nothing
    written, for the violation to be recorded on its own (``lesson_record``)."""


def _record_one(
    actor, institution_id: int, event_id: str, order_id: int, when, now, *, hours_checked: bool = False
) -> tuple[Lesson, str]:
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
        inst_pk, inst_division = _share_institution(cur, actor, institution_id, pg)
        read = _lock_order(cur, inst_pk, inst_division, event_id, order_id, when, now, pg)
        if read.seen_id is not None:
            return Lesson.objects.get(pk=read.seen_id), "duplicate"
        if not read.hours_clear and not hours_checked:
            raise _HoursBroken
        order = read.order
        plan = plan_lesson(order, order_id, frozen=read.frozen, given_on=timezone.localdate(when))
        if plan.refusal:
            raise DomainError(plan.refusal[1], plan.refusal[0], {"event_id": event_id}, status=422)
        before_status = order.status
        lesson = _new_lesson(inst_pk, order, event_id, when, plan.amount, read.confirm_days, now)
        pending = None
        if plan.amount > 0:
            pending = _stage_release(lesson, order, inst_division, read, now)
        order.lessons_consumed, order.pending_fen, order.status = (
            plan.lessons_consumed,
            plan.pending_fen,
            plan.status,
        )
        _insert_lesson_and_progress(cur, lesson, order, pg, actor=actor, now=now)
        if pending:
            pending.apply()
        if not pg:  # on PostgreSQL the lesson's statement inserted its first transition row
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
                "frozen": read.frozen,
            },
        )
    return lesson, "accepted"


def _share_institution(cur, actor, institution_id: int, pg: bool) -> tuple[int, str]:
    """The institution row locked shared, and the actor's right to record its lessons;
    the institution's id and division."""
    cur.execute(
        f"SELECT id, division_code FROM {Institution._meta.db_table} WHERE id = %s"  # noqa: S608
        + (" FOR SHARE" if pg else ""),
        [institution_id],
    )
    row = cur.fetchone()
    if row is None:
        raise NotFound(_("机构"))
    inst_pk, inst_division = row
    if not is_institution_user(actor, inst_pk):
        _check_writer(actor, Institution.objects.get(pk=inst_pk))
    return inst_pk, inst_division


@dataclass
class _OrderRead:
    """What one statement reads for the lesson: the lesson already recorded under its
    event id (if any), the confirmation period in force (as stored), the freeze flag,
    the order's prepaid and the institution's pending-release account, the order, and
    whether the lesson keeps the training-hours rules (judged on their values alone)."""

    seen_id: int | None
    confirm_days: object
    frozen: bool
    prepaid_id: int | None
    pending_id: int | None
    order: Order | None
    hours_clear: bool = True


def _lock_order(
    cur, inst_pk: int, inst_division: str, event_id: str, order_id: int, when, now, pg: bool
) -> _OrderRead:
    """The order, locked, with what the lesson needs: whether the event was seen, the
    confirmation period in force, the freeze flag, the two accounts, and whether the
    lesson given at ``when`` keeps the training-hours rules in force on its day."""
    policy, policy_params = policy_subquery(CONFIRM_DAYS, inst_division, timezone.localdate(now))
    hours, hours_params = [], []
    for key in registry_rules.HOURS_KEYS:
        sql, params = policy_subquery(key, inst_division, timezone.localdate(when))
        hours.append(sql)
        hours_params += params
    cur.execute(
        _ONE_ORDER_SQL.format(policy=policy, hours=", ".join(hours))
        + (" FOR NO KEY UPDATE OF o" if pg else ""),
        [inst_pk, event_id, *policy_params, *hours_params, order_id, inst_pk],
    )
    row = cur.fetchone()
    if row is None:  # unknown order: a duplicate event still wins over the refusal
        cur.execute(_SEEN_SQL, [inst_pk, event_id])
        return _OrderRead(cur.fetchone()[0], None, False, None, None, None)
    seen, confirm_days, frozen, prepaid, pending = row[:_HEAD]
    course = dict(zip(_HOURS_COLS, row[_HEAD : _HEAD + len(_HOURS_COLS)], strict=True))
    rest = row[_HEAD + len(_HOURS_COLS) :]
    n = len(registry_rules.HOURS_KEYS)
    values = {
        key: policy_value_from_db(key, raw)
        for key, raw in zip(registry_rules.HOURS_KEYS, rest[:n], strict=True)
    }
    order = Order(**dict(zip(_ONE_ORDER_COLS, rest[n:], strict=True)), institution_id=inst_pk)
    if not pg:  # SQLite gives dates back as text here
        order.starts_on = _as_date(order.starts_on)
        order.ends_on = _as_date(order.ends_on)
    hours_clear = registry_rules.lesson_hours_clear(
        kind=course["course_kind"],
        lesson_minutes=course["lesson_minutes"],
        mode=course["mode"],
        starts_at=when,
        values=values,
    )
    return _OrderRead(seen, confirm_days, bool(frozen), prepaid, pending, order, hours_clear)


def _new_lesson(inst_pk: int, order: Order, event_id: str, when, amount: int, confirm_days, now) -> Lesson:
    """The lesson, not yet saved: recorded, to be confirmed by the deadline in force."""
    confirm_days = int(policy_value_from_db(CONFIRM_DAYS, confirm_days) or 15)
    return Lesson(
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


def _stage_release(lesson: Lesson, order: Order, inst_division: str, read: _OrderRead, now) -> Pending:
    """The lesson's price posted from the order's prepaid account into the institution's
    pending release (the account created at need); applied to the balances after the
    lesson is written."""
    amount = lesson.released_fen
    pending_id = read.pending_id
    if pending_id is None:
        pending_id = institution_release_accounts(
            Institution(pk=lesson.institution_id, division_code=inst_division), order.bank_id
        )[AccountKind.PENDING_RELEASE]
    pending = post_one(
        PostingSpec(
            key=f"lesson:{lesson.institution_id}:{lesson.event_id}",
            code=PostingCode.RELEASE_PENDING,
            legs=((read.prepaid_id, amount), (pending_id, -amount)),
            institution_id=lesson.institution_id,
            division_code=order.division_code,
            order_id=order.pk,
            bank_id=order.bank_id,
        ),
        now=now,
        retry_ok=False,  # posted meanwhile: the event was recorded through another order
    )
    lesson.posting_id = pending.posting_id
    return pending


def _insert_lesson_and_progress(cur, lesson: Lesson, order: Order, pg: bool, *, actor, now) -> None:
    """The lesson inserted and the order's counters and status updated: one statement on
    PostgreSQL, which also inserts the lesson's first transition row; two on SQLite."""
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
        first, first_params = LESSON_STATES.first_rows_sql(
            "SELECT id FROM l", lesson.status, actor=actor, at=now
        )
        cur.execute(
            f"WITH l AS ({insert}), o AS ({update}), t AS ({first}) SELECT id FROM l",  # noqa: S608
            [*values, *order_values, *first_params],
        )
        lesson.pk = cur.fetchone()[0]
    else:
        cur.execute(insert, values)
        lesson.pk = cur.fetchone()[0]
        cur.execute(update, order_values)
    lesson._state.adding = False
    lesson._state.db = connection.alias


def _as_date(v):
    return date.fromisoformat(v) if isinstance(v, str) else v


__all__ = ["lesson_record", "policy_subquery", "policy_value_from_db"]
