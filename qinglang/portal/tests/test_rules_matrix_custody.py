"""The custody rules that act after a sale: the reserve a custody account keeps when
released fees are paid out (``custody.min_balance_reserve_ratio``), and the period a
parent has to confirm or dispute a recorded lesson before it counts as confirmed
(``lesson.parent_confirm_days``). Each at, just inside and just beyond its figure, with
the city's own figure; the payout cut, and the refused dispute, name the key, the value,
the division that set it and the basis."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from qinglang.core.calendar import add_working_days
from qinglang.core.models import AuditEvent, PolicyParameter
from qinglang.core.policy import RULE_MARK, policy_resolve
from qinglang.funds import services
from qinglang.funds.models import (
    InstructionKind,
    InstructionLine,
    Lesson,
    LessonStatus,
    LessonTransition,
    Order,
)
from qinglang.funds.testing import funds_world, paid_order
from qinglang.funds.tests.test_two_phase import _lesson_on_30_september as lesson_on_30_september
from qinglang.testing import OTHER_COUNTY, TOWNSHIP

from .rule_checks import CITY, CITY_BASIS, assert_cites, assert_refused, city_sets, post_json

pytestmark = pytest.mark.django_db
RESERVE = "custody.min_balance_reserve_ratio"
CONFIRM = "lesson.parent_confirm_days"


# --- custody.min_balance_reserve_ratio -----------------------------------------------------


def _eight_of_ten_confirmed():
    """Ten lessons of 50 yuan paid (500 yuan in custody), eight given and confirmed: 400
    yuan of released fees due to the institution, 100 yuan left in custody after them."""
    w = funds_world(unit_price_fen=5000)
    order = paid_order(w, lessons=10)
    for i in range(8):
        lesson, res = services.lesson_record(
            actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id=f"r{i}"
        )
        assert res == "accepted"
        services.lesson_confirm(actor=w.parent, lesson_id=lesson.pk)
    return w


def _release(w) -> InstructionLine:
    services.instructions_generate(day=timezone.localdate())
    (line,) = InstructionLine.objects.filter(institution=w.institution, kind=InstructionKind.RELEASE)
    return line


def test_no_reserve_nationally_pays_every_released_fee():
    """The national figure is 0: the whole 400 yuan goes, nothing is withheld."""
    w = _eight_of_ten_confirmed()
    line = _release(w)
    assert line.amount_fen == 40000 and line.note == ""
    assert not AuditEvent.objects.filter(action="funds.payout_withheld").exists()


# the city's ratio → the reserve of 500 yuan held: 99.99 (inside), 100 (at), 100.01 (beyond)
RESERVES = {"inside": (0.19998, 40000), "at": (0.2, 40000), "beyond": (0.20002, 39999)}


@pytest.mark.parametrize("step", RESERVES)
def test_the_citys_reserve_at_inside_and_beyond(step):
    """成都市 keeps a fifth of the fees held: a payout leaving exactly the reserve, or a
    fen more, goes whole; one that would leave a fen less is cut back by that fen, the
    instruction line, the posting's memo and the audit record naming the rule."""
    ratio, paid = RESERVES[step]
    city_sets(RESERVE, ratio)
    w = _eight_of_ten_confirmed()
    line = _release(w)
    assert line.amount_fen == paid
    withheld = AuditEvent.objects.filter(action="funds.payout_withheld")
    if step != "beyond":
        assert line.note == "" and not withheld.exists()
        return
    assert "按监管账户最低留存比例留存 ¥100.01，本次少拨 ¥0.01" in line.note
    assert_cites(line.note, RESERVE, ratio, CITY)
    cut = withheld.get().changes
    assert (cut["rule"], cut["value"], cut["set_by"], cut["basis"]) == (RESERVE, ratio, CITY, CITY_BASIS)
    assert (cut["due_fen"], cut["paid_fen"], cut["reserve_fen"]) == (40000, 39999, 10001)


# --- lesson.parent_confirm_days ------------------------------------------------------------

# A lesson given on Wednesday 30 September 2026: 1–7 October are the National Day holiday
# and Saturday 10 October a make-up working day. 15 working days (national) end on 27
# October; 成都市's 7 on 15 October.
GIVEN = date(2026, 9, 30)
PERIODS = {"national": (15, date(2026, 10, 27)), "city": (7, date(2026, 10, 15))}
STEPS = {"inside": -1, "at": 0, "beyond": 1}


def _lesson_given_on_30_september(w) -> Lesson:
    order = lesson_on_30_september(w, "sep30")
    return Lesson.objects.get(order=order, event_id="sep30")


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("where", PERIODS)
def test_an_unanswered_lesson_counts_as_confirmed_only_after_the_period(where, step):
    """On the day before the last day of the period and on the last day the parent still
    may answer: the deemed-confirm job leaves the lesson; the day after, it is confirmed
    and its release posted."""
    days, last = PERIODS[where]
    if where == "city":
        city_sets(CONFIRM, days)
    lesson = _lesson_given_on_30_september(funds_world())
    assert lesson.confirm_by == last == add_working_days(GIVEN, days)
    today = last + timedelta(days=STEPS[step])
    deemed = services.lessons_deem_confirmed(today=today)
    lesson.refresh_from_db()
    if step == "beyond":
        assert deemed == 1
        assert lesson.status == LessonStatus.DEEMED_CONFIRMED and lesson.release_state == "posted"
        _deemed_cites(lesson, days, CITY if where == "city" else "national")
    else:
        assert deemed == 0 and lesson.status == LessonStatus.RECORDED and lesson.release_state == "pending"


def _deemed_cites(lesson, days, set_by) -> None:
    """The deemed confirmation states its rule: the lesson's transition row with the key,
    the job's audit record citing key, value, division and basis with the lessons it
    counted."""
    row = LessonTransition.objects.get(lesson=lesson, to_status=LessonStatus.DEEMED_CONFIRMED)
    assert "逾期未确认，视为确认" in row.reason
    assert_cites(row.reason, CONFIRM, days, set_by)
    (event,) = AuditEvent.objects.filter(action="funds.lessons_deem_confirmed")
    basis = CITY_BASIS if set_by == CITY else policy_resolve(CONFIRM, "").basis
    assert event.changes["rules"] == [
        {"rule": CONFIRM, "value": days, "set_by": set_by, "basis": basis, "count": 1}
    ]


def test_one_run_cites_each_divisions_rule_once_for_its_lessons():
    """Lessons of 武侯区 (its own 7 days) and of 锦江区 (the national 15) deemed in one
    run: each lesson's row names the rule it counted under; the audit record names each
    rule once, with how many lessons it decided; the rules are read once for the run."""
    county = TOWNSHIP[:6]
    city_sets(CONFIRM, 7, division=county)
    here, there = funds_world(), funds_world(division_code=OTHER_COUNTY)
    lessons = [_lesson_given_on_30_september(here), _lesson_given_on_30_september(there)]
    lessons.append(Lesson.objects.get(order=lesson_on_30_september(here, "sep30b"), event_id="sep30b"))
    with CaptureQueriesContext(connection) as run:
        assert services.lessons_deem_confirmed(today=date(2026, 10, 28)) == 3
    policy_table = PolicyParameter._meta.db_table
    assert sum(policy_table in q["sql"] for q in run.captured_queries) == 1  # once for the chunk
    for lesson, days, set_by in zip(lessons, (7, 15, 7), (county, "national", county), strict=True):
        row = LessonTransition.objects.get(lesson=lesson, to_status=LessonStatus.DEEMED_CONFIRMED)
        assert_cites(row.reason, CONFIRM, days, set_by)
    (event,) = AuditEvent.objects.filter(action="funds.lessons_deem_confirmed")
    national = policy_resolve(CONFIRM, "").basis
    assert sorted(event.changes["rules"], key=lambda c: c["value"]) == [
        {"rule": CONFIRM, "value": 7, "set_by": county, "basis": CITY_BASIS, "count": 2},
        {"rule": CONFIRM, "value": 15, "set_by": "national", "basis": national, "count": 1},
    ]


@pytest.mark.parametrize("where", PERIODS)
def test_a_dispute_after_the_period_is_refused_through_the_api(client, where):
    """The parent disputes the lesson of 30 September after its period: refused, naming
    the rule with the figure in force and who set it; a lesson of today is disputed."""
    days, last = PERIODS[where]
    if where == "city":
        city_sets(CONFIRM, days)
    w = funds_world()
    old = _lesson_given_on_30_september(w)
    assert timezone.localdate() > last
    client.force_login(w.parent)
    r = post_json(client, f"/api/funds/lessons/{old.pk}/dispute", {"reason": "没上课"})
    body = assert_refused(r, CONFIRM, days, CITY if where == "city" else "national")
    assert (
        body["detail"]["confirm_by"] == last.isoformat() and "已过家长确认期限，视为确认" in body["message"]
    )
    old.refresh_from_db()
    assert old.status == LessonStatus.RECORDED
    fresh = paid_order(w, lessons=2)
    lesson, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=fresh.pk, event_id="today"
    )
    r = post_json(client, f"/api/funds/lessons/{lesson.pk}/dispute", {"reason": "没上课"})
    assert r.status_code == 200 and r.json()["status"] == LessonStatus.DISPUTED, r.content
    assert Order.objects.filter(institution=w.institution).count() == 2
    assert RULE_MARK not in r.content.decode()
