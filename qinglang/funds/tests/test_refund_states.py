"""A refund's status tells the truth: 已同意 when agreed (the money still in custody),
已下达指令 once a bank instruction carries it, 已退款 only when the bank's statement
confirms that line; each step leaves its transition row. Existing refunds migrate."""

from importlib import import_module
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.utils import timezone

from qinglang.funds import services
from qinglang.funds.models import (
    InstructionKind,
    InstructionLine,
    OrderStatus,
    Refund,
    RefundStatus,
    RefundTransition,
    StatementLine,
)
from qinglang.funds.testing import funds_world, paid_order
from qinglang.funds.verify import ledger_verify

pytestmark = pytest.mark.django_db


def _agreed_refund(w, lessons=4):
    order = paid_order(w, lessons=lessons)
    refund = services.refund_request(actor=w.parent, order_id=order.pk, reason="不学了")
    return services.refund_answer(actor=w.org_user, refund_id=refund.pk, agree=True)


def _statement(w, day, rows):
    text = "txn_id,direction,amount_fen\n" + "".join(f"{t},out,{a}\n" for t, a in rows)
    return services.statement_import(actor=w.admin, bank_id=w.bank.pk, day=day, text=text)


def test_agreed_then_instructed_then_refunded_only_when_the_bank_confirms():
    w = funds_world()
    refund = _agreed_refund(w)
    assert refund.status == RefundStatus.AGREED and refund.get_status_display() == "已同意"
    # the order is closed by the refund; its label does not claim the money was paid
    assert refund.order.status == OrderStatus.REFUNDED and "退费" not in refund.order.get_status_display()
    day = timezone.localdate()
    services.instructions_generate(day=day)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.INSTRUCTED and refund.get_status_display() == "已下达指令"
    line = InstructionLine.objects.get(refund=refund, kind=InstructionKind.REFUND)
    # a statement that lacks the line, or carries another amount, confirms nothing
    _statement(w, day, [("other", 100)])
    refund.refresh_from_db()
    assert refund.status == RefundStatus.INSTRUCTED
    _statement(w, day, [(line.ref, line.amount_fen - 1)])
    refund.refresh_from_db()
    assert refund.status == RefundStatus.INSTRUCTED
    _statement(w, day, [(line.ref, line.amount_fen)])
    refund.refresh_from_db()
    assert refund.status == RefundStatus.REFUNDED and refund.get_status_display() == "已退款"
    assert list(
        RefundTransition.objects.filter(refund=refund).order_by("id").values_list("from_status", "to_status")
    ) == [
        ("requested", "requested"),
        ("requested", "agreed"),
        ("agreed", "instructed"),
        ("instructed", "refunded"),
    ]
    # importing the statement again changes nothing more
    _statement(w, day, [(line.ref, line.amount_fen)])
    assert RefundTransition.objects.filter(refund=refund).count() == 4
    r = ledger_verify()
    assert r.ok, r.problems


def test_a_refund_waiting_for_custody_stays_agreed():
    """A refund is paid whole or waits; until an instruction carries it, it is agreed."""
    w = funds_world()
    refund = _agreed_refund(w)
    # custody holds less than the refund asks (its amount raised past what was paid)
    Refund.objects.filter(pk=refund.pk).update(amount_fen=refund.amount_fen * 100)
    services.instructions_generate(day=timezone.localdate())
    refund.refresh_from_db()
    assert refund.status == RefundStatus.AGREED
    assert not InstructionLine.objects.filter(refund=refund).exists()


def test_migration_moves_existing_refunds_by_their_instructions_and_statements():
    migration = import_module("qinglang.funds.migrations.0006_refund_states_tell_the_truth")
    w = funds_world()
    paid_line, waiting, unpaid = _agreed_refund(w), _agreed_refund(w), _agreed_refund(w)
    day = timezone.localdate()
    services.instructions_generate(day=day)
    # as before this change: agreed refunds whatever their instruction and statement
    Refund.objects.filter(pk__in=[paid_line.pk, waiting.pk]).update(status=RefundStatus.AGREED)
    Refund.objects.filter(pk=unpaid.pk).update(status=RefundStatus.DEEMED_AGREED)
    InstructionLine.objects.filter(refund=unpaid).update(refund=None)  # never instructed
    line = InstructionLine.objects.get(refund=paid_line)
    StatementLine.objects.create(
        bank=w.bank, day=day, txn_id=line.ref, direction="out", amount_fen=line.amount_fen
    )
    migration.instructed_and_refunded(django_apps, SimpleNamespace(connection=connection))
    got = dict(
        Refund.objects.filter(pk__in=[paid_line.pk, waiting.pk, unpaid.pk]).values_list("id", "status")
    )
    assert got == {
        paid_line.pk: RefundStatus.REFUNDED,
        waiting.pk: RefundStatus.INSTRUCTED,
        unpaid.pk: RefundStatus.DEEMED_AGREED,
    }
    assert list(
        RefundTransition.objects.filter(refund=paid_line).order_by("id").values_list("to_status", flat=True)
    )[-2:] == ["instructed", "refunded"]


def test_dispute_upheld_after_the_order_was_refunded_refunds_the_lesson():
    """The disputed lesson's fee stayed pending while the rest was refunded; upheld, it is
    voided back to held and refunded to the parent through the refund path."""
    from qinglang.funds.models import AccountKind, LedgerAccount, Lesson, LessonStatus

    w = funds_world()
    order = paid_order(w, lessons=4)
    price = order.unit_price_fen
    kept, disputed = (
        services.lesson_record(
            actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id=e
        )[0]
        for e in ("k", "d")
    )
    services.lesson_confirm(actor=w.parent, lesson_id=kept.pk)
    services.lesson_dispute(actor=w.parent, lesson_id=disputed.pk, reason="没上课")
    first = _agreed_refund_of(w, order)
    assert first.amount_fen == 2 * price  # the two lessons never given
    services.dispute_decide(actor=w.admin, lesson_id=disputed.pk, upheld=True, reason="监控显示未上课")
    assert Lesson.objects.get(pk=disputed.pk).status == LessonStatus.DISPUTE_UPHELD
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert (order.pending_fen, order.released_fen, order.refunded_fen) == (0, price, 3 * price)
    assert (order.lessons_consumed, order.lessons_refunded) == (1, 3)
    assert -LedgerAccount.objects.get(order_id=order.pk).balance_fen == 0  # nothing left held
    second = Refund.objects.exclude(pk=first.pk).get(order=order)
    assert second.status == RefundStatus.AGREED and second.amount_fen == price
    assert second.payer_account == first.payer_account
    assert list(second.transitions.values_list("from_status", "to_status")) == [("agreed", "agreed")]
    r = ledger_verify()
    assert r.ok, r.problems
    # both go out through the bank instruction, to the parent
    services.instructions_generate(day=timezone.localdate())
    lines = InstructionLine.objects.filter(institution=w.institution, kind=InstructionKind.REFUND)
    assert sorted(ln.amount_fen for ln in lines) == [price, 2 * price]
    assert set(Refund.objects.filter(order=order).values_list("status", flat=True)) == {
        RefundStatus.INSTRUCTED
    }
    assert (
        LedgerAccount.objects.get(institution=w.institution, kind=AccountKind.REFUNDS_PAYABLE).balance_fen
        == 0
    )
    assert ledger_verify().ok


def _agreed_refund_of(w, order):
    refund = services.refund_request(actor=w.parent, order_id=order.pk, reason="不学了")
    return services.refund_answer(actor=w.org_user, refund_id=refund.pk, agree=True)
