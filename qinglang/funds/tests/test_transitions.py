"""Order, lesson and refund state changes each leave an insert-only transition row
(``core.states``), on the single paths and, set-based, on the batch and deemed-confirm
paths; ``ledger verify`` finds a status written without its row."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from qinglang.core.errors import IllegalTransition
from qinglang.funds import services
from qinglang.funds.models import (
    Lesson,
    LessonStatus,
    LessonTransition,
    Order,
    OrderTransition,
    Refund,
    RefundTransition,
)
from qinglang.funds.testing import funds_world, paid_order
from qinglang.funds.verify import ledger_verify

pytestmark = pytest.mark.django_db


def _moves(history, **fk):
    return [(t.from_status, t.to_status) for t in history.objects.filter(**fk).order_by("id")]


def test_every_move_of_order_lesson_and_refund_leaves_its_row():
    w = funds_world()
    order = paid_order(w, lessons=2)
    assert _moves(OrderTransition, order=order) == [
        ("pending_payment", "pending_payment"),
        ("pending_payment", "paid"),
    ]
    a, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="a"
    )
    b, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="b"
    )
    # the second lesson used the last one: the order is completed, with its row
    assert _moves(OrderTransition, order=order)[-1] == ("paid", "completed")
    services.lesson_confirm(actor=w.parent, lesson_id=a.pk)
    services.lesson_dispute(actor=w.parent, lesson_id=b.pk, reason="没上课")
    services.dispute_decide(actor=w.admin, lesson_id=b.pk, upheld=True, reason="监控显示未上课")
    assert _moves(LessonTransition, lesson=a) == [("recorded", "recorded"), ("recorded", "confirmed")]
    assert _moves(LessonTransition, lesson=b) == [
        ("recorded", "recorded"),
        ("recorded", "disputed"),
        ("disputed", "dispute_upheld"),
    ]
    t = LessonTransition.objects.filter(lesson=b).order_by("id").last()
    assert t.actor_id == w.admin.pk and t.reason == "监控显示未上课"
    assert LessonTransition.objects.filter(lesson=a).last().actor_id == w.parent.pk
    # the upheld dispute gave a lesson back: completed → paid
    assert _moves(OrderTransition, order=order)[-1] == ("completed", "paid")
    refund = services.refund_request(actor=w.parent, order_id=order.pk, reason="不学了")
    refund = services.refund_answer(actor=w.org_user, refund_id=refund.pk, agree=True)
    assert _moves(RefundTransition, refund=refund)[:2] == [
        ("requested", "requested"),
        ("requested", "agreed"),
    ]
    assert _moves(OrderTransition, order=order)[-2:] == [
        ("paid", "refund_requested"),
        ("refund_requested", "refunded"),
    ]
    assert ledger_verify().ok


def test_a_refused_move_leaves_no_row():
    w = funds_world()
    order = paid_order(w, lessons=3)
    lesson, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="x"
    )
    services.lesson_confirm(actor=w.parent, lesson_id=lesson.pk)
    before = LessonTransition.objects.count()
    with pytest.raises(IllegalTransition):
        services.lesson_dispute(actor=w.parent, lesson_id=lesson.pk, reason="晚了")
    assert LessonTransition.objects.count() == before


def test_rows_are_insert_only_and_protect_their_object():
    w = funds_world()
    order = paid_order(w, lessons=3)
    row = OrderTransition.objects.filter(order=order).first()
    with pytest.raises(TypeError, match="insert-only"):
        row.save()
    with pytest.raises(TypeError, match="insert-only"):
        row.delete()
    with pytest.raises(ProtectedError):
        OrderTransition.objects.filter(order=order).exists() and Order.objects.filter(pk=order.pk).delete()


def _batch(w, orders, n, prefix):
    rows = [{"event_id": f"{prefix}{i}", "order_id": orders[i % len(orders)].pk} for i in range(n)]
    with CaptureQueriesContext(connection) as q:
        out = services.lesson_batch_import(actor=w.org_user, institution_id=w.institution.pk, rows=rows)
    assert out.counts["accepted"] == n
    return len(q.captured_queries)


def test_batch_and_deemed_paths_write_their_rows_set_based():
    w = funds_world()
    orders = [paid_order(w, lessons=40) for _ in range(4)]
    _batch(w, orders, 4, "w")  # the first batch opens the institution's accounts
    small = _batch(w, orders, 4, "s")
    large = _batch(w, orders, 120, "l")
    # one statement for the lessons' rows however many lessons: no per-lesson writes
    assert large == small
    lessons = list(Lesson.objects.filter(institution=w.institution).values_list("id", flat=True))
    assert LessonTransition.objects.filter(lesson_id__in=lessons, to_status="recorded").count() == 128
    # the deemed-confirm job: one row per lesson it posts, in a constant number of statements
    later = timezone.localdate() + timedelta(days=60)
    with CaptureQueriesContext(connection) as q:
        assert services.lessons_deem_confirmed(today=later) == 128
    deemed = len(q.captured_queries)
    assert (
        LessonTransition.objects.filter(
            lesson_id__in=lessons, from_status="recorded", to_status="deemed_confirmed"
        ).count()
        == 128
    )
    more = [paid_order(w, lessons=40) for _ in range(2)]
    _batch(w, more, 30, "m")
    with CaptureQueriesContext(connection) as q:
        assert services.lessons_deem_confirmed(today=later) == 30
    assert len(q.captured_queries) == deemed
    assert ledger_verify().ok


def test_batch_that_completes_an_order_records_the_order_row():
    w = funds_world()
    order = paid_order(w, lessons=3)
    _batch(w, [order], 3, "c")
    assert _moves(OrderTransition, order=order)[-1] == ("paid", "completed")
    assert Order.objects.get(pk=order.pk).status == "completed"


def test_pro_rata_refund_rows():
    from qinglang.registry.services import institution_transition

    w = funds_world()
    a, b = paid_order(w, lessons=4), paid_order(w, lessons=4)
    open_refund = services.refund_request(actor=w.parent, order_id=b.pk, reason="不学了")
    institution_transition(actor=w.admin, institution_id=w.institution.pk, to_status="runaway", reason="跑路")
    services.refund_pro_rata(actor=w.admin, institution_id=w.institution.pk, reason="统一清退")
    assert _moves(RefundTransition, refund=open_refund) == [
        ("requested", "requested"),
        ("requested", "agreed"),
    ]
    assert _moves(OrderTransition, order=b)[-1] == ("refund_requested", "refunded")
    assert _moves(OrderTransition, order=a)[-1] == ("paid", "refunded")
    regulator = Refund.objects.filter(order=a, status="regulator").get()
    assert _moves(RefundTransition, refund=regulator) == [("regulator", "regulator")]
    assert ledger_verify().ok


def test_verify_finds_a_status_written_without_its_row():
    w = funds_world()
    order = paid_order(w, lessons=3)
    lesson, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="v"
    )
    assert ledger_verify().ok
    Lesson.objects.filter(pk=lesson.pk).update(status=LessonStatus.DISPUTED)
    report = ledger_verify()
    assert any(f"消课 {lesson.pk} 状态为 disputed" in p for p in report.problems)
