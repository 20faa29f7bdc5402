"""A parent's confirmation, the deemed-confirm job and the parent's dispute of the same
lesson, at the same moment, on PostgreSQL: exactly one of them happens.

Each contender runs in its own thread on its own connection. To make the moment the
same, each waits at a rendezvous (up to ``HOLD`` seconds) when it first asks the lesson's
state machine whether its move is allowed, that is after it has read the lesson's status
and before it writes. With the row locks (order, then lesson, re-read under the lock) the
first to get the lock waits there alone while the others queue behind it, and they then
see the lesson already answered. Without them all three arrive together, each having
read 待家长确认, and their writes conflict (a disputed lesson whose release was posted, two
settling moves in its history): this test then fails."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

from qinglang.core.errors import DomainError
from qinglang.funds import services
from qinglang.funds.models import (
    LESSON_STATES,
    Lesson,
    LessonStatus,
    LessonTransition,
    Order,
    Posting,
    PostingCode,
)
from qinglang.funds.testing import funds_world, paid_order
from qinglang.funds.verify import ledger_verify

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite serialises writers"
    ),
]

HOLD = 1.5  # seconds a contender waits for the others at the rendezvous


class Rendezvous:
    """Each thread's first arrival waits until ``n`` threads have arrived, or ``HOLD``."""

    def __init__(self, n: int):
        self.n, self.arrived = n, 0
        self.cv = threading.Condition()
        self.seen = threading.local()

    def __call__(self):
        if getattr(self.seen, "done", False) or threading.current_thread() is threading.main_thread():
            return
        self.seen.done = True
        with self.cv:
            self.arrived += 1
            self.cv.notify_all()
            self.cv.wait_for(lambda: self.arrived >= self.n, timeout=HOLD)


def _contenders(w, lesson, order, deem_day):
    """(name, callable → won?) for the three at once."""

    def confirm():
        got = services.lesson_confirm(actor=w.parent, lesson_id=lesson.pk)
        return got.status == LessonStatus.CONFIRMED

    def deem():
        return services.lessons_deem_confirmed(today=deem_day) == 1

    def dispute():
        services.lesson_dispute(actor=w.parent, lesson_id=lesson.pk, reason="那天没上课")
        return True

    return [("confirm", confirm), ("deem", deem), ("dispute", dispute)]


def _race(monkeypatch, w, order, event_id, start_order):
    lesson, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id=event_id
    )
    meet = Rendezvous(3)
    can = LESSON_STATES.can

    def can_at_the_same_moment(current, target):
        meet()
        return can(current, target)

    monkeypatch.setattr(LESSON_STATES, "can", can_at_the_same_moment)
    # the job runs on the day after the deadline: the dispute is still (just) within it
    contenders = dict(_contenders(w, lesson, order, lesson.confirm_by + timedelta(days=1)))
    won: dict[str, bool] = {}
    errors: dict[str, BaseException] = {}

    def run(name):
        try:
            won[name] = contenders[name]()
        except DomainError as e:  # refused: the lesson was already answered
            won[name] = False
            errors[name] = e
        except BaseException as e:  # a conflict the locks should have prevented
            won[name] = False
            errors[name] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(name,)) for name in start_order]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    monkeypatch.setattr(LESSON_STATES, "can", can)
    return lesson, won, errors


@pytest.mark.parametrize(
    "start_order",
    [("confirm", "deem", "dispute"), ("dispute", "confirm", "deem"), ("deem", "dispute", "confirm")],
)
def test_confirm_deem_and_dispute_at_once_give_exactly_one_outcome(monkeypatch, start_order):
    w = funds_world()
    order = paid_order(w, lessons=5)
    lesson, won, errors = _race(monkeypatch, w, order, "race", start_order)
    winners = [name for name, ok in won.items() if ok]
    assert len(won) == 3
    assert len(winners) == 1, (won, errors)
    # the losers were refused as lessons already answered, or saw the answer (a confirm
    # after the deemed one returns the lesson as it stands); nothing else went wrong
    for name, e in errors.items():
        assert isinstance(e, DomainError), (name, repr(e))
    lesson.refresh_from_db()
    expected = {
        "confirm": LessonStatus.CONFIRMED,
        "deem": LessonStatus.DEEMED_CONFIRMED,
        "dispute": LessonStatus.DISPUTED,
    }[winners[0]]
    assert lesson.status == expected
    # one move in its history, and the money where that one move put it
    assert list(
        LessonTransition.objects.filter(lesson=lesson).order_by("id").values_list("from_status", "to_status")
    ) == [("recorded", "recorded"), ("recorded", expected)]
    settling = Posting.objects.filter(reverses_id=lesson.posting_id)
    order.refresh_from_db()
    if expected == LessonStatus.DISPUTED:
        assert not settling.exists() and lesson.settled_posting_id is None
        assert (order.pending_fen, order.released_fen) == (order.unit_price_fen, 0)
    else:
        (post,) = settling
        assert post.code == PostingCode.RELEASE_POST and lesson.settled_posting_id == post.pk
        assert (order.pending_fen, order.released_fen) == (0, order.unit_price_fen)
    assert Order.objects.get(pk=order.pk).lessons_consumed == 1
    assert Lesson.objects.filter(order=order).count() == 1
    r = ledger_verify()
    assert r.ok, r.problems
