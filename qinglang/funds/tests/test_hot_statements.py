"""The two requests a busy county sends hundreds of times a second — a lesson recorded,
a lesson confirmed — in the statements docs/funds.md counts, and still whole: the
lesson's first transition row goes in with the lesson, the accounts are locked and moved
in one statement, and a balance rule broken there refuses with the rule's own code and
changes nothing."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from qinglang.core.errors import DomainError
from qinglang.funds import ledger, services
from qinglang.funds.models import (
    AccountKind,
    LedgerAccount,
    Lesson,
    LessonStatus,
    LessonTransition,
    Order,
    PostingCode,
)
from qinglang.funds.testing import funds_world, paid_order
from qinglang.funds.verify import ledger_verify

pytestmark = pytest.mark.django_db
pg_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the single statements are PostgreSQL's"
)


def _statements(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries]


@pg_only
def test_a_lesson_is_recorded_in_nine_statements_with_its_first_transition_row():
    w = funds_world(unit_price_fen=100)
    order = paid_order(w, lessons=5)
    # the institution's first lesson opens its pending-release account; the next ones find it
    services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="hot-0"
    )
    with CaptureQueriesContext(connection) as ctx:
        lesson, result = services.lesson_record(
            actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="hot-1"
        )
    assert result == "accepted"
    sql = _statements(ctx)
    assert len(sql) == 9, sql  # BEGIN … COMMIT (a savepoint here)
    row = LessonTransition.objects.get(lesson=lesson)
    assert (row.from_status, row.to_status, row.actor_id) == (
        LessonStatus.RECORDED,
        LessonStatus.RECORDED,
        w.org_user.pk,
    )
    assert ledger_verify().ok


@pg_only
def test_a_confirmation_posts_in_twelve_statements():
    w = funds_world(unit_price_fen=100)
    order = paid_order(w, lessons=5)
    lesson, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="hot-2"
    )
    with CaptureQueriesContext(connection) as ctx:
        services.lesson_confirm(actor=w.parent, lesson_id=lesson.pk)
    assert len(_statements(ctx)) == 12, _statements(ctx)
    lesson.refresh_from_db()
    order.refresh_from_db()
    assert lesson.status == LessonStatus.CONFIRMED and lesson.settled_posting_id
    assert (order.pending_fen, order.released_fen) == (0, 100)
    assert ledger_verify().ok


def test_a_balance_rule_broken_in_the_one_statement_refuses_and_changes_nothing():
    """More out of an order's prepaid account than it holds: refused with the rule's
    code (not the table's check constraint), both balances as they were."""
    w = funds_world(unit_price_fen=100)
    order = paid_order(w, lessons=2)
    prepaid = LedgerAccount.objects.get(order=order)
    pending = ledger.account_get_or_create(
        institution=w.institution, kind=AccountKind.PENDING_RELEASE, bank_id=order.bank_id
    )
    before = {a.pk: a.balance_fen for a in LedgerAccount.objects.filter(pk__in=[prepaid.pk, pending.pk])}
    spec = ledger.PostingSpec(
        key="hot-too-much",
        code=PostingCode.RELEASE_PENDING,
        legs=((prepaid.pk, 10_000), (pending.pk, -10_000)),
        institution_id=w.institution.pk,
        division_code=order.division_code,
        order_id=order.pk,
        bank_id=order.bank_id,
    )
    with pytest.raises(DomainError) as e, transaction.atomic():
        ledger.post_one(spec).apply()
    assert e.value.code == "exceeds_balance"
    assert e.value.detail["account"] == prepaid.pk
    after = {a.pk: a.balance_fen for a in LedgerAccount.objects.filter(pk__in=[prepaid.pk, pending.pk])}
    assert after == before
    assert not Lesson.objects.exists() and Order.objects.get(pk=order.pk).pending_fen == 0
