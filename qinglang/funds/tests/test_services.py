from datetime import date, timedelta

import pytest
from django.core.management import call_command

from qinglang.core.errors import DomainError
from qinglang.core.models import AuditEvent
from qinglang.funds import services
from qinglang.funds.models import LedgerAccount, Lesson, Order, OrderStatus, Posting
from qinglang.funds.testing import funds_world, paid_order
from qinglang.funds.verify import ledger_verify

pytestmark = pytest.mark.django_db


def held(order):
    return -LedgerAccount.objects.get(order_id=order.pk).balance_fen


def test_order_pay_consume_refund_verify():
    w = funds_world()
    order = paid_order(w, lessons=10)
    assert order.status == OrderStatus.PAID and held(order) == 50000
    lesson, res = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="e1"
    )
    assert res == "accepted" and lesson.released_fen == 5000
    _, res = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="e1"
    )
    assert res == "duplicate"
    order.refresh_from_db()
    # the lesson's price left the order's held balance into a pending release
    assert (order.lessons_consumed, order.pending_fen, order.released_fen, held(order)) == (1, 5000, 0, 45000)
    services.lesson_confirm(actor=w.parent, lesson_id=lesson.pk)
    order.refresh_from_db()
    assert (order.pending_fen, order.released_fen, held(order)) == (0, 5000, 45000)
    refund = services.refund_request(actor=w.parent, order_id=order.pk, reason="搬家")
    refund = services.refund_answer(actor=w.org_user, refund_id=refund.pk, agree=True)
    order.refresh_from_db()
    assert refund.amount_fen == 45000 and order.status == OrderStatus.REFUNDED and held(order) == 0
    r = ledger_verify()
    assert r.ok, r.problems
    call_command("ledger_verify")


def test_dispute_upheld_voids_the_pending_release():
    w = funds_world()
    order = paid_order(w, lessons=2)
    lesson, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="x"
    )
    services.lesson_record(actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="y")
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    services.lesson_dispute(actor=w.parent, lesson_id=lesson.pk, reason="当天没上课")
    services.lesson_dispute_resolve(actor=w.org_user, lesson_id=lesson.pk, upheld=True)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.lessons_consumed == 1
    # x's price is back in the held balance (refundable); y's still waits for the parent
    assert (order.pending_fen, order.released_fen, held(order)) == (5000, 0, 5000)
    assert ledger_verify().ok


def test_frozen_releases_nothing_then_unfreeze_releases():
    w = funds_world()
    order = paid_order(w, lessons=5)
    services.releases_freeze(actor=w.admin, institution_id=w.institution.pk, reason="责令停止办学")
    services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="f1"
    )
    order.refresh_from_db()
    assert order.released_fen == 0 and order.lessons_consumed == 1
    services.releases_unfreeze(actor=w.admin, institution_id=w.institution.pk, reason="整改完成")
    order.refresh_from_db()
    # the catch-up goes pending on the lesson recorded meanwhile, which still waits for the parent
    assert (order.pending_fen, order.released_fen) == (5000, 0)
    lesson = Lesson.objects.get(order=order)
    assert lesson.released_fen == 5000 and lesson.posting_id
    services.lesson_confirm(actor=w.parent, lesson_id=lesson.pk)
    order.refresh_from_db()
    assert (order.pending_fen, order.released_fen) == (0, 5000)
    assert ledger_verify().ok


def test_refund_deadline_job_catches_up():
    w = funds_world()
    order = paid_order(w, lessons=4)
    refund = services.refund_request(actor=w.parent, order_id=order.pk, reason="不想学了")
    assert services.refunds_deem_agreed(today=refund.respond_by) == 0  # not yet overdue
    assert services.refunds_deem_agreed(today=refund.respond_by + timedelta(days=40)) == 1
    refund.refresh_from_db()
    assert refund.status == "deemed_agreed" and refund.amount_fen == 20000
    assert services.refunds_deem_agreed(today=refund.respond_by + timedelta(days=41)) == 0


def test_pro_rata_refund_for_runaway():
    from qinglang.registry.services import institution_transition

    w = funds_world()
    o1, o2 = paid_order(w, lessons=10), paid_order(w, lessons=4)
    services.lesson_record(actor=w.org_user, institution_id=w.institution.pk, order_id=o1.pk, event_id="a")
    with pytest.raises(DomainError) as e:
        services.refund_pro_rata(actor=w.admin, institution_id=w.institution.pk, reason="跑路")
    assert e.value.code == "institution_operating"
    institution_transition(
        actor=w.admin, institution_id=w.institution.pk, to_status="runaway", reason="卷款跑路"
    )
    s = services.refund_pro_rata(actor=w.admin, institution_id=w.institution.pk, reason="统一清退")
    assert s["refunded_fen"] == 45000 + 20000
    assert set(Order.objects.filter(pk__in=[o1.pk, o2.pk]).values_list("status", flat=True)) == {"refunded"}
    assert ledger_verify().ok


def test_pro_rata_shares():
    from qinglang.funds.services.refunds import _pro_rata

    assert _pro_rata({1: 100, 2: 200}, 150) == {1: 50, 2: 100}
    s = _pro_rata({1: 1, 2: 1, 3: 1}, 2)
    assert sum(s.values()) == 2 and max(s.values()) == 1


def _post_many(spec) -> int:
    from qinglang.funds.ledger import post

    return post([spec])[0].pk


def _post_one(spec) -> int:
    from qinglang.funds.ledger import post_one

    pending = post_one(spec)
    pending.apply()
    return pending.posting_id


@pytest.mark.parametrize("post_", [_post_many, _post_one], ids=["post", "post_one"])
def test_idempotency_key_conflict(post_):
    from django.db import transaction

    from qinglang.funds.ledger import PostingSpec

    w = funds_world()
    order = paid_order(w, lessons=2)
    prepaid = LedgerAccount.objects.get(order_id=order.pk)
    settle = LedgerAccount.objects.get(institution=w.institution, kind="settlement")
    spec = PostingSpec(
        "k1", "release", ((prepaid.pk, 100), (settle.pk, -100)), w.institution.pk, "510107001", order.pk
    )
    with transaction.atomic():
        a = post_(spec)
        assert post_(spec) == a  # a retry: the original, applied once
        with pytest.raises(DomainError) as e:
            post_(
                PostingSpec(
                    "k1",
                    "release",
                    ((prepaid.pk, 200), (settle.pk, -200)),
                    w.institution.pk,
                    "510107001",
                    order.pk,
                )
            )
        assert e.value.code == "idempotency_conflict"
        with pytest.raises(DomainError) as e:
            post_(
                PostingSpec(
                    "k2", "release", ((prepaid.pk, 100), (settle.pk, -99)), w.institution.pk, "510107001"
                )
            )
        assert e.value.code == "unbalanced_posting"
        with pytest.raises(DomainError) as e:  # more than held
            post_(
                PostingSpec(
                    "k3",
                    "release",
                    ((prepaid.pk, 10**9), (settle.pk, -(10**9))),
                    w.institution.pk,
                    "510107001",
                )
            )
        assert e.value.code == "exceeds_balance"
    assert Posting.objects.filter(idempotency_key="k1").count() == 1
    prepaid.refresh_from_db()
    assert prepaid.balance_fen == -(order.paid_fen - 100)


def test_every_write_is_audited():
    w = funds_world()
    before = AuditEvent.objects.count()
    paid_order(w, lessons=2)
    assert AuditEvent.objects.count() >= before + 2
    assert AuditEvent.objects.filter(action="funds.payment_record").exists()


def test_institution_without_custody_or_whitelist_takes_no_orders():
    from qinglang.funds.testing import make_course
    from qinglang.testing import make_institution

    w = funds_world()
    other = make_institution(w.admin, whitelisted=True)
    course = make_course(w.admin, other)
    with pytest.raises(DomainError) as e:
        services.order_create(
            actor=w.parent,
            data=services.OrderInput(
                course_id=course.pk, learner_name="甲", lessons=1, starts_on=date.today()
            ),
        )
    assert e.value.code == "no_custody_account"
    assert not Lesson.objects.exists()
