"""Each indicator's roll-up equals a direct computation over the raw rows, for several
divisions, departments and periods, after incremental updates, deletions and back-dated
records."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from qinglang.analytics.indicators import INDICATORS
from qinglang.analytics.models import DirtyDay, IndicatorValue, RefreshState
from qinglang.analytics.refresh import month_start, period_bounds, refresh, week_start
from qinglang.clues.models import Clue
from qinglang.core.models import AuditEvent
from qinglang.registry.models import Institution, Staff
from qinglang.risk.tests.factories import at, clue
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, TOWNSHIP, make_institution

pytestmark = pytest.mark.django_db

TOWNSHIP_2 = "510107004"
OTHER_TOWNSHIP = OTHER_COUNTY
CHECKED = {
    "indicator.licensed_rate",
    "indicator.party_coverage_rate",
    "indicator.staff_vetted_rate",
    "indicator.clue_on_time_rate",
}
DIVISIONS = ["", "51", "5101", DEMO_COUNTY, TOWNSHIP, TOWNSHIP_2, TOWNSHIP_2 + "001", OTHER_COUNTY]


def _dept(inst) -> str:
    return inst.competent_department.kind if inst and inst.competent_department_id else ""


def _stored(key, period, start, division, dept=""):
    row = IndicatorValue.objects.filter(
        indicator=key, period=period, period_start=start, division_code=division, department_kind=dept
    ).first()
    return (row.numerator, row.denominator) if row else (0, 0)


def direct_clue_on_time(division, dept, first, last, today):
    num = den = 0
    for c in Clue.objects.select_related("institution__competent_department"):
        if not c.resolve_due or not (first <= c.resolve_due <= last) or c.resolve_due >= today:
            continue
        if not c.division_code.startswith(division) or (dept and _dept(c.institution) != dept):
            continue
        den += 1
        done = c.concluded_at or c.closed_at
        num += bool(done and timezone.localtime(done).date() <= c.resolve_due)
    return num, den


def direct_snapshot(key, division, dept):
    num = den = 0
    if key == "indicator.staff_vetted_rate":
        for s in Staff.objects.select_related("institution__competent_department"):
            i = s.institution
            if i.status != "active" or s.left_on or not i.division_code.startswith(division):
                continue
            if dept and _dept(i) != dept:
                continue
            den += 1
            num += bool(s.background_check_on and (not s.teaches_subject or s.teacher_qualification_no))
        return num, den
    for i in Institution.objects.select_related("competent_department"):
        if i.status != "active" or not i.division_code.startswith(division) or (dept and _dept(i) != dept):
            continue
        den += 1
        if key == "indicator.licensed_rate":
            num += i.licence_status == "fully_licensed"
        elif key == "indicator.party_coverage_rate":
            num += i.party_organisation and i.party_charter_clause
    return num, den


@pytest.fixture
def world():
    insts = [
        make_institution(division_code=TOWNSHIP, kind="arts"),
        make_institution(division_code=TOWNSHIP, kind="sports", licensed=False),
        make_institution(division_code=TOWNSHIP_2, kind="science_tech"),
        make_institution(division_code=TOWNSHIP_2 + "001", kind="arts"),
        make_institution(division_code=OTHER_TOWNSHIP, kind="arts"),
    ]
    Institution.objects.filter(pk=insts[0].pk).update(party_organisation=True, party_charter_clause=True)
    Staff.objects.create(institution=insts[0], name="甲", background_check_on=date(2026, 1, 5))
    Staff.objects.create(
        institution=insts[0], name="乙", teaches_subject=True, background_check_on=date(2026, 1, 5)
    )
    Staff.objects.create(institution=insts[2], name="丙")
    return insts


def _clue(inst, *, received, due, concluded=None):
    c = clue(inst, day=received)
    c.resolve_due = due
    c.concluded_at = at(concluded) if concluded else None
    c.save()
    return c


def _check_all(today):
    depts = ["", *sorted({_dept(i) for i in Institution.objects.all()} - {""})]
    checked = 0
    for key, ind in INDICATORS.items():
        if key not in CHECKED:
            continue  # the others: test_indicators_more
        for division in DIVISIONS:
            for dept in depts:
                if ind.kind == "snapshot":
                    for period, start in (
                        ("day", today),
                        ("week", week_start(today)),
                        ("month", month_start(today)),
                    ):
                        assert _stored(key, period, start, division, dept) == direct_snapshot(
                            key, division, dept
                        ), (
                            key,
                            period,
                            division,
                            dept,
                        )
                        checked += 1
                    continue
                for period, start in (
                    ("day", today - timedelta(days=3)),
                    ("day", today - timedelta(days=10)),
                    ("week", week_start(today - timedelta(days=7))),
                    ("week", week_start(today)),
                    ("month", month_start(today - timedelta(days=3))),
                ):
                    first, last = period_bounds(period, start)
                    want = direct_clue_on_time(division, dept, first, last, today)
                    assert _stored(key, period, start, division, dept) == want, (
                        key,
                        period,
                        start,
                        division,
                        dept,
                    )
                    checked += 1
    return checked


def test_values_equal_direct_computation_through_changes(world):
    today = timezone.localdate()
    a, b, c, d, e = world
    _clue(
        a,
        received=today - timedelta(days=20),
        due=today - timedelta(days=10),
        concluded=today - timedelta(days=11),
    )
    _clue(
        a,
        received=today - timedelta(days=20),
        due=today - timedelta(days=10),
        concluded=today - timedelta(days=9),
    )
    _clue(c, received=today - timedelta(days=8), due=today - timedelta(days=3))
    _clue(
        d,
        received=today - timedelta(days=8),
        due=today - timedelta(days=3),
        concluded=today - timedelta(days=4),
    )
    late = _clue(e, received=today - timedelta(days=8), due=today - timedelta(days=3))
    refresh(today=today, full=True)
    assert _check_all(today) > 100
    assert _stored("indicator.clue_on_time_rate", "day", today - timedelta(days=10), TOWNSHIP) == (1, 2)

    # incremental: a clue concluded late, one deleted, one back-dated into a past day
    late.concluded_at = at(today - timedelta(days=1))
    late.save()
    Clue.objects.filter(institution=c).delete()
    _clue(
        b,
        received=today - timedelta(days=40),
        due=today - timedelta(days=10),
        concluded=today - timedelta(days=12),
    )
    Institution.objects.filter(pk=b.pk).update(licence_status="fully_licensed")
    assert DirtyDay.objects.count() >= 2
    refresh(today=today)
    assert not DirtyDay.objects.exists()
    _check_all(today)
    assert _stored("indicator.clue_on_time_rate", "day", today - timedelta(days=10), TOWNSHIP) == (2, 3)

    # a moved deadline marks both the old and the new day
    moved = Clue.objects.filter(institution=a).order_by("id").first()
    moved.resolve_due = today - timedelta(days=3)
    moved.save()
    refresh(today=today)
    _check_all(today)


def test_catches_up_after_downtime(world):
    today = timezone.localdate()
    a = world[0]
    for k in range(1, 8):
        _clue(
            a,
            received=today - timedelta(days=30),
            due=today - timedelta(days=k),
            concluded=today - timedelta(days=8),
        )
    refresh(today=today - timedelta(days=6))  # ran a week ago, then nothing
    DirtyDay.objects.all().delete()  # only the catch-up range may bring the later days in
    refresh(today=today)
    for k in range(1, 8):
        day = today - timedelta(days=k)
        assert _stored("indicator.clue_on_time_rate", "day", day, DEMO_COUNTY) == (1, 1), day
    assert RefreshState.objects.get().last_day == today
    assert AuditEvent.objects.filter(action="analytics.refresh").count() == 2


def test_rates_and_status():
    ind = INDICATORS["indicator.clue_on_time_rate"]
    assert ind.status(0.96) == "green" and ind.status(0.90) == "amber" and ind.status(0.5) == "red"
    assert ind.status(None) == "none"
