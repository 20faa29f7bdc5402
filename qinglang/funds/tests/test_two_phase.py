"""Two-phase release (一课一消): a recorded lesson's fee waits in custody as a pending
release until the parent confirms, the deemed-confirm job posts it after
``lesson.parent_confirm_days`` working days, or a regulator decides the parent's dispute;
payouts carry posted releases only; the reserve rule cuts a payout back."""

import json
from datetime import date, datetime, timedelta

import pytest
from django.apps import apps as django_apps
from django.test import Client
from django.utils import timezone

from qinglang.core.errors import DomainError, IllegalTransition, NotFound
from qinglang.core.models import AuditEvent
from qinglang.core.services import policy_set
from qinglang.funds import services
from qinglang.funds.ledger import PostingSpec, account_get_or_create, post
from qinglang.funds.models import (
    AccountKind,
    Entry,
    InstructionKind,
    InstructionLine,
    LedgerAccount,
    Lesson,
    LessonStatus,
    LessonTransition,
    Order,
    Posting,
    PostingCode,
)
from qinglang.funds.testing import funds_world, paid_order
from qinglang.funds.verify import ledger_verify
from qinglang.testing import make_user

pytestmark = pytest.mark.django_db


def _record(w, order, ev):
    lesson, res = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id=ev
    )
    assert res == "accepted"
    return lesson


def _release_lines(w):
    return list(InstructionLine.objects.filter(institution=w.institution, kind=InstructionKind.RELEASE))


def _balance(w, kind):
    return -LedgerAccount.objects.get(institution=w.institution, kind=kind).balance_fen


def test_unconfirmed_lesson_never_in_a_payout_confirmed_one_is():
    w = funds_world()
    order = paid_order(w, lessons=10)
    a, b = _record(w, order, "a"), _record(w, order, "b")
    assert (
        a.release_state == "pending" and _balance(w, AccountKind.PENDING_RELEASE) == 2 * order.unit_price_fen
    )
    day = timezone.localdate()
    assert services.instructions_generate(day=day) == 0  # nothing confirmed: nothing leaves custody
    assert _release_lines(w) == []
    services.lesson_confirm(actor=w.parent, lesson_id=a.pk)
    assert services.instructions_generate(day=day + timedelta(days=1)) == 1
    (line,) = _release_lines(w)
    assert line.amount_fen == order.unit_price_fen  # a's fee only; b still waits for the parent
    order.refresh_from_db()
    assert (order.pending_fen, order.released_fen) == (order.unit_price_fen, order.unit_price_fen)
    b.refresh_from_db()
    assert b.status == LessonStatus.RECORDED and b.settled_posting_id is None
    assert ledger_verify().ok


def _past_order(w, start: date, lessons: int = 10) -> Order:
    from qinglang.funds.services.orders import latest_end_in_semester

    div = w.institution.division_code
    order = services.order_create(
        actor=w.parent,
        data=services.OrderInput(
            course_id=w.course.pk,
            learner_name="小红",
            lessons=lessons,
            starts_on=start,
            ends_on=latest_end_in_semester(div=div, starts_on=start, months=1),
        ),
        today=start,
    )
    services.payment_record(
        actor=w.admin,
        bank_id=w.bank.pk,
        txn_id=f"P{order.pk}",
        order_id=order.pk,
        amount_fen=order.amount_fen,
    )
    order.refresh_from_db()
    return order


def _lesson_on_30_september(w, event_id: str) -> Order:
    """A lesson given and recorded on Wednesday 30 September 2026, of an order begun on
    the 28th."""
    order = _past_order(w, date(2026, 9, 28))
    when = timezone.make_aware(datetime(2026, 9, 30, 16))
    out = services.lesson_batch_import(
        actor=w.org_user,
        institution_id=w.institution.pk,
        rows=[{"event_id": event_id, "order_id": order.pk, "given_at": when}],
        now=when,
    )
    assert out.counts["accepted"] == 1
    return order


def test_deemed_after_exactly_n_working_days_with_a_holiday_and_a_city_override():
    """Chengdu (city 5101) sets 3 working days. A lesson recorded on Wednesday 30
    September 2026: 1–7 October are the National Day holiday, Saturday 10 October a
    make-up working day, so the three working days are 8, 9 and 10 October. On the 10th
    the parent still has the day; on the 11th the job posts the lesson, and the payout
    that day carries it."""
    w = funds_world()
    policy_set(
        actor=w.admin,
        key="lesson.parent_confirm_days",
        division_code=w.institution.division_code[:4],
        value=3,
        basis="成都市校外培训预收费监管细则(测试)",
        effective_from=date(2026, 9, 1),
    )
    order = _lesson_on_30_september(w, "nd1")
    lesson = Lesson.objects.get(event_id="nd1")
    assert lesson.confirm_by == date(2026, 10, 10)
    assert services.lessons_deem_confirmed(today=date(2026, 10, 10)) == 0
    assert services.instructions_generate(day=date(2026, 10, 10)) == 0
    assert services.lessons_deem_confirmed(today=date(2026, 10, 11)) == 1
    lesson.refresh_from_db()
    assert lesson.status == LessonStatus.DEEMED_CONFIRMED and lesson.release_state == "posted"
    assert services.instructions_generate(day=date(2026, 10, 11)) == 1
    assert [x.amount_fen for x in _release_lines(w)] == [order.unit_price_fen]
    # the job catches up and never posts twice
    assert services.lessons_deem_confirmed(today=date(2026, 12, 1)) == 0
    assert Posting.objects.filter(code=PostingCode.RELEASE_POST, reverses_id=lesson.posting_id).count() == 1
    assert ledger_verify().ok


def test_the_national_period_applies_without_the_override():
    w = funds_world()
    _lesson_on_30_september(w, "nd2")
    # 15 working days from 30 September, skipping the holiday: 8–10, 12–16, 19–23, 26–27 October
    assert Lesson.objects.get(event_id="nd2").confirm_by == date(2026, 10, 27)
    assert services.lessons_deem_confirmed(today=date(2026, 10, 27)) == 0
    assert services.lessons_deem_confirmed(today=date(2026, 10, 28)) == 1


def test_dispute_upheld_voids_rejected_posts():
    w = funds_world()
    order = paid_order(w, lessons=5)
    up, down = _record(w, order, "u"), _record(w, order, "d")
    for lesson in (up, down):
        services.lesson_dispute(actor=w.parent, lesson_id=lesson.pk, reason="没上课")
    # a disputed lesson is not deemed confirmed: it waits for the decision
    assert services.lessons_deem_confirmed(today=timezone.localdate() + timedelta(days=90)) == 0
    held_before = -LedgerAccount.objects.get(order_id=order.pk).balance_fen
    services.dispute_decide(actor=w.admin, lesson_id=up.pk, upheld=True, reason="监控显示未上课")
    services.dispute_decide(actor=w.admin, lesson_id=down.pk, upheld=False, reason="签到记录完整")
    up.refresh_from_db()
    down.refresh_from_db()
    assert up.release_state == "voided" and down.release_state == "posted"
    assert Posting.objects.get(pk=up.settled_posting_id).code == PostingCode.RELEASE_VOID
    assert Posting.objects.get(pk=down.settled_posting_id).code == PostingCode.RELEASE_POST
    order.refresh_from_db()
    # the voided fee is back in the order's held balance, and refundable
    assert -LedgerAccount.objects.get(order_id=order.pk).balance_fen == held_before + order.unit_price_fen
    assert (order.pending_fen, order.released_fen, order.lessons_consumed) == (0, order.unit_price_fen, 1)
    refund = services.refund_request(actor=w.parent, order_id=order.pk, reason="不学了")
    refund = services.refund_answer(actor=w.org_user, refund_id=refund.pk, agree=True)
    assert refund.amount_fen == 4 * order.unit_price_fen
    assert services.instructions_generate(day=timezone.localdate()) == 2
    (line,) = _release_lines(w)
    assert line.amount_fen == order.unit_price_fen
    assert ledger_verify().ok


def test_staged_release_on_top_of_pending():
    """``custody.staged_release``: 30 % at a third of the lessons, 30 % at two thirds,
    40 % at the end; each stage's amount goes pending with the lesson that reaches it."""
    w = funds_world()
    order = paid_order(w, lessons=6)
    Order.objects.filter(pk=order.pk).update(release_rule="staged")
    lessons = [_record(w, order, f"s{i}") for i in range(3)]
    assert [x.released_fen for x in lessons] == [0, order.amount_fen * 30 // 100, 0]
    services.lesson_confirm(actor=w.parent, lesson_id=lessons[0].pk)  # moved nothing: nothing posted
    assert services.instructions_generate(day=timezone.localdate()) == 0
    services.lesson_confirm(actor=w.parent, lesson_id=lessons[1].pk)
    assert services.instructions_generate(day=timezone.localdate() + timedelta(days=1)) == 1
    assert _release_lines(w)[0].amount_fen == order.amount_fen * 30 // 100
    assert ledger_verify().ok


def test_payout_cut_back_to_the_reserve_citing_the_rule():
    w = funds_world()
    policy_set(
        actor=w.admin,
        key="custody.min_balance_reserve_ratio",
        division_code=w.institution.division_code[:6],
        value=0.9,
        basis="自贡市预收费监管办法(测试)",
    )
    order = paid_order(w, lessons=10)  # 10 × 50 yuan
    for i in range(3):
        services.lesson_confirm(actor=w.parent, lesson_id=_record(w, order, f"r{i}").pk)
    # custody 500 yuan, reserve 90 % of 500 = 450: only 50 of the 150 posted may go
    services.instructions_generate(day=timezone.localdate())
    (line,) = _release_lines(w)
    assert line.amount_fen == 5000
    assert line.note.endswith("[参数 custody.min_balance_reserve_ratio]")
    assert "监管账户最低留存比例 90%" in line.note and "¥100.00" in line.note
    assert "custody.min_balance_reserve_ratio" in Posting.objects.get(pk=line.posting_id).memo
    cut = AuditEvent.objects.get(action="funds.payout_withheld").changes
    assert (cut["rule"], cut["value"], cut["set_by"]) == (
        "custody.min_balance_reserve_ratio",
        0.9,
        w.institution.division_code[:6],
    )
    assert (cut["paid_fen"], cut["reserve_fen"], cut["basis"]) == (5000, 45000, "自贡市预收费监管办法(测试)")
    assert _balance(w, AccountKind.SETTLEMENT) == 10000  # the rest waits, still owed
    assert ledger_verify().ok


def test_migration_turns_unconfirmed_released_lessons_into_pending():
    """Before two-phase release a lesson's price went straight to settlement; the data
    migration keeps confirmed lessons released and makes unanswered ones pending."""
    from importlib import import_module

    migration = import_module("qinglang.funds.migrations.0004_two_phase_release")
    w = funds_world()
    order = paid_order(w, lessons=4)
    prepaid = LedgerAccount.objects.get(order_id=order.pk)
    settlement = account_get_or_create(institution=w.institution, kind=AccountKind.SETTLEMENT)
    old = []
    for i, status in enumerate([LessonStatus.CONFIRMED, LessonStatus.RECORDED, LessonStatus.DISPUTED]):
        from django.db import transaction

        with transaction.atomic():
            p = post(
                [
                    PostingSpec(
                        f"lesson:{w.institution.pk}:old{i}",
                        PostingCode.RELEASE,
                        ((prepaid.pk, 5000), (settlement.pk, -5000)),
                        w.institution.pk,
                        order.division_code,
                        order.pk,
                        order.bank_id,
                    )
                ]
            )[0]
        old.append(
            Lesson.objects.create(
                institution=w.institution,
                order=order,
                event_id=f"old{i}",
                given_at=timezone.now(),
                status=status,
                confirm_by=timezone.localdate() + timedelta(days=20),
                released_fen=5000,
                posting_id=p.pk,
                division_code=order.division_code,
                created_at=timezone.now(),
            )
        )
    Order.objects.filter(pk=order.pk).update(released_fen=15000, lessons_consumed=3)
    assert ledger_verify().ok
    migration.unconfirmed_become_pending(django_apps, None)
    order.refresh_from_db()
    assert (order.pending_fen, order.released_fen) == (10000, 5000)
    assert _balance(w, AccountKind.PENDING_RELEASE) == 10000 and _balance(w, AccountKind.SETTLEMENT) == 5000
    r = ledger_verify()
    assert r.ok, r.problems
    # and the migrated pending lessons settle like any other
    services.lesson_confirm(actor=w.parent, lesson_id=old[1].pk)
    services.dispute_decide(actor=w.admin, lesson_id=old[2].pk, upheld=True, reason="未上课")
    order.refresh_from_db()
    assert (order.pending_fen, order.released_fen) == (0, 10000)
    assert ledger_verify().ok


def test_verify_finds_a_pending_release_posted_twice():
    w = funds_world()
    order = paid_order(w, lessons=4)
    lesson = _record(w, order, "t")
    services.lesson_confirm(actor=w.parent, lesson_id=lesson.pk)
    _record(w, order, "t2")  # another lesson pending, so the account has a balance to take from
    assert ledger_verify().ok
    # a second settling posting of the same pending release (what a missing lock and key could do)
    from django.db import transaction

    pending = LedgerAccount.objects.get(institution=w.institution, kind=AccountKind.PENDING_RELEASE)
    settlement = LedgerAccount.objects.get(institution=w.institution, kind=AccountKind.SETTLEMENT)
    with transaction.atomic():
        post(
            [
                PostingSpec(
                    "settle-again",
                    PostingCode.RELEASE_POST,
                    ((pending.pk, 1), (settlement.pk, -1)),
                    w.institution.pk,
                    order.division_code,
                    order.pk,
                    reverses_id=lesson.posting_id,
                )
            ]
        )
    problems = ledger_verify().problems
    assert any("被确认或退回 2 次" in p for p in problems), problems
    assert any(f"订单 {order.pk}" in p for p in problems)  # and the counters no longer agree


def test_verify_finds_an_entry_whose_posting_or_account_is_gone():
    """Entries carry no database FK checks (the ledger writes them with their posting,
    under their account's lock): verify is what proves the references."""
    from django.db import connection

    w = funds_world()
    order = paid_order(w, lessons=4)
    _record(w, order, "t")
    assert ledger_verify().ok
    entry = Entry.objects.filter(posting__order_id=order.pk).order_by("id").last()
    with connection.cursor() as cur:  # what a hand edit in the database could do
        cur.execute("UPDATE funds_entry SET posting_id = %s WHERE id = %s", [10**9, entry.pk])
    problems = ledger_verify().problems
    assert any(f"分录 {entry.pk} 所属凭证 {10**9} 不存在" in p for p in problems), problems
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE funds_entry SET posting_id = %s, account_id = %s WHERE id = %s",
            [entry.posting_id, 10**9, entry.pk],
        )
    problems = ledger_verify().problems
    assert any(f"分录 {entry.pk} 所属账户 {10**9} 不存在" in p for p in problems), problems


def test_verify_finds_a_reversal_or_lesson_history_row_whose_target_is_gone():
    """A posting's ``reverses`` and a lesson's history rows carry no database FK checks
    either: verify proves them."""
    from django.db import connection

    w = funds_world()
    order = paid_order(w, lessons=4)
    lesson = _record(w, order, "t")
    services.lesson_confirm(actor=w.parent, lesson_id=lesson.pk)
    assert ledger_verify().ok
    settle = Posting.objects.get(reverses_id=lesson.posting_id)
    row = LessonTransition.objects.filter(lesson_id=lesson.pk).order_by("id").first()
    with connection.cursor() as cur:  # what a hand edit in the database could do
        cur.execute("UPDATE funds_posting SET reverses_id = %s WHERE id = %s", [10**9, settle.pk])
        cur.execute("UPDATE funds_lessontransition SET lesson_id = %s WHERE id = %s", [10**9 + 1, row.pk])
    problems = ledger_verify().problems
    assert any(f"凭证 {settle.pk} 冲销的凭证 {10**9} 不存在" in p for p in problems), problems
    assert any(f"消课状态记录 {row.pk} 所属消课 {10**9 + 1} 不存在" in p for p in problems), problems


# --- bad input --------------------------------------------------------------------------


def _api(user):
    c = Client()
    c.force_login(user)
    return c


def test_confirming_someone_elses_lesson_is_404_and_twice_is_the_original():
    from qinglang.accounts.models import Role

    w = funds_world()
    order = paid_order(w, lessons=4)
    lesson = _record(w, order, "c1")
    stranger = make_user(Role.PARENT)
    resp = _api(stranger).post(f"/api/funds/lessons/{lesson.pk}/confirm")
    assert resp.status_code == 404 and resp.json()["code"] == "not_found"
    lesson.refresh_from_db()
    assert lesson.status == LessonStatus.RECORDED
    with pytest.raises(NotFound):
        services.lesson_confirm(actor=stranger, lesson_id=lesson.pk)
    c = _api(w.parent)
    first = c.post(f"/api/funds/lessons/{lesson.pk}/confirm")
    assert first.status_code == 200 and first.json()["release"] == "posted"
    events = AuditEvent.objects.filter(action="funds.lesson_confirm").count()
    again = c.post(f"/api/funds/lessons/{lesson.pk}/confirm")
    assert again.status_code == 200 and again.json() == first.json()
    assert AuditEvent.objects.filter(action="funds.lesson_confirm").count() == events  # nothing new
    order.refresh_from_db()
    assert order.released_fen == order.unit_price_fen  # posted once
    # a confirmed lesson cannot be disputed any more
    resp = c.post(
        f"/api/funds/lessons/{lesson.pk}/dispute",
        json.dumps({"reason": "x"}),
        content_type="application/json",
    )
    assert resp.status_code == 409 and resp.json()["code"] == "illegal_transition"


def test_disputing_after_the_period_is_a_clear_error():
    w = funds_world()
    _lesson_on_30_september(w, "late")
    lesson = Lesson.objects.get(event_id="late")
    resp = _api(w.parent).post(
        f"/api/funds/lessons/{lesson.pk}/dispute",
        json.dumps({"reason": "没上"}),
        content_type="application/json",
    )
    body = resp.json()
    assert resp.status_code == 422 and body["code"] == "policy_violation", body
    assert "已过家长确认期限" in body["message"] and body["detail"]["confirm_by"] == "2026-10-27"
    lesson.refresh_from_db()
    assert lesson.status == LessonStatus.RECORDED


def test_a_lesson_outside_the_order_dates_is_refused():
    w = funds_world()
    order = paid_order(w, lessons=4)
    before = timezone.now() - timedelta(days=3)
    with pytest.raises(DomainError) as e:
        services.lesson_record(
            actor=w.org_user,
            institution_id=w.institution.pk,
            order_id=order.pk,
            event_id="early",
            given_at=before,
        )
    assert e.value.code == "lesson_before_order"
    after = timezone.make_aware(datetime.combine(order.ends_on + timedelta(days=1), datetime.min.time()))
    out = services.lesson_batch_import(
        actor=w.org_user,
        institution_id=w.institution.pk,
        rows=[
            {"event_id": "late", "order_id": order.pk, "given_at": after},
            {"event_id": "ok", "order_id": order.pk},
        ],
    )
    assert [r.code for r in out.results] == ["lesson_after_order", ""]
    assert list(Lesson.objects.values_list("event_id", flat=True)) == ["ok"]


def test_a_voided_lesson_cannot_be_confirmed():
    w = funds_world()
    order = paid_order(w, lessons=4)
    lesson = _record(w, order, "v")
    services.lesson_dispute(actor=w.parent, lesson_id=lesson.pk, reason="没上")
    services.lesson_dispute_resolve(actor=w.org_user, lesson_id=lesson.pk, upheld=True)
    with pytest.raises(IllegalTransition):
        services.lesson_confirm(actor=w.parent, lesson_id=lesson.pk)
    assert ledger_verify().ok


def test_a_dispute_after_the_city_confirm_period_is_refused_citing_the_rule():
    """Chengdu sets 3 working days: on the last day the parent may still dispute; the day
    after, the dispute is refused naming the rule, its value, the city and the basis."""
    w = funds_world()
    city = w.institution.division_code[:4]
    policy_set(
        actor=w.admin, key="lesson.parent_confirm_days", division_code=city, value=3, basis="成都市细则(测试)"
    )
    order = paid_order(w, lessons=5)
    inside, beyond = _record(w, order, "c1"), _record(w, order, "c2")
    today = timezone.localdate()
    Lesson.objects.filter(pk=inside.pk).update(confirm_by=today)
    Lesson.objects.filter(pk=beyond.pk).update(confirm_by=today - timedelta(days=1))
    assert services.lesson_dispute(actor=w.parent, lesson_id=inside.pk, reason="没上课").status == (
        LessonStatus.DISPUTED
    )
    with pytest.raises(DomainError) as refused:
        services.lesson_dispute(actor=w.parent, lesson_id=beyond.pk, reason="没上课")
    detail = refused.value.detail
    assert refused.value.code == "policy_violation" and detail["rule"] == "lesson.parent_confirm_days"
    assert (detail["value"], detail["set_by"], detail["basis"]) == (3, city, "成都市细则(测试)")
    assert "3天" in refused.value.message and "成都市细则(测试)" in refused.value.message
    assert Lesson.objects.get(pk=beyond.pk).status == LessonStatus.RECORDED  # nothing changed


def test_the_refund_deadline_and_destination_cite_their_rules_and_the_deadline_bites():
    from qinglang.core.calendar import add_working_days
    from qinglang.funds.models import Refund, RefundStatus

    w = funds_world()
    city = w.institution.division_code[:4]
    policy_set(
        actor=w.admin,
        key="refund.institution_response_days",
        division_code=city,
        value=2,
        basis="成都市细则(测试)",
    )
    order = paid_order(w, lessons=5)
    refund = services.refund_request(actor=w.parent, order_id=order.pk, reason="不学了")
    due = add_working_days(timezone.localdate(), 2)
    assert refund.respond_by == due  # the city's 2 working days, not the national 5
    asked = AuditEvent.objects.get(action="funds.refund_request", object_id=str(refund.pk)).changes
    assert asked["respond_by"] == due.isoformat()
    assert asked["respond_rule"] == {
        "rule": "refund.institution_response_days",
        "value": 2,
        "set_by": city,
        "basis": "成都市细则(测试)",
    }
    assert asked["destination_rule"]["rule"] == "refund.destination"
    assert asked["destination_rule"]["value"] == refund.destination == "original_payment_account"
    assert asked["destination_rule"]["set_by"] == "national"
    # on the last day the institution may still answer; the day after, it counts as agreed
    assert services.refunds_deem_agreed(today=due) == 0
    assert services.refunds_deem_agreed(today=due + timedelta(days=1)) == 1
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.DEEMED_AGREED
