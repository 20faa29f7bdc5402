"""The incremental refresh after a change in one township: that township and its
ancestors are updated, the result equals a full recomputation from empty roll-ups, and
no other division's roll-up row is rewritten — whatever wrote the change (a queryset
``update()`` here, which sends no signal)."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from qinglang.analytics.models import IndicatorValue, RefreshState
from qinglang.analytics.refresh import month_start, refresh, week_start
from qinglang.registry.models import Institution, Staff
from qinglang.risk.tests.factories import at, clue
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, TOWNSHIP, make_institution

pytestmark = pytest.mark.django_db

TOWNSHIP_2 = "510107004"
ANCESTORS = {"", "51", "5101", DEMO_COUNTY, TOWNSHIP}


@pytest.fixture
def area():
    today = timezone.localdate()
    here = make_institution(division_code=TOWNSHIP, kind="arts", licensed=False)
    make_institution(division_code=TOWNSHIP, kind="sports")
    there = make_institution(division_code=TOWNSHIP_2, kind="arts", licensed=False)
    make_institution(division_code=OTHER_COUNTY, kind="science_tech", licensed=False)
    Staff.objects.create(institution=here, name="甲")
    Staff.objects.create(institution=there, name="乙")
    c = clue(there, day=today - timedelta(days=20))
    c.resolve_due = today - timedelta(days=5)
    c.concluded_at = at(today - timedelta(days=6))
    c.save()
    return here


def _all() -> dict:
    return {
        (r.indicator, r.period, r.period_start, r.division_code, r.department_kind): (
            r.numerator,
            r.denominator,
        )
        for r in IndicatorValue.objects.all()
    }


def _ids() -> dict:
    return {
        (r.indicator, r.period, r.period_start, r.division_code, r.department_kind): (r.id, r.refreshed_at)
        for r in IndicatorValue.objects.all()
    }


def _change_one_township(inst) -> None:
    Institution.objects.filter(pk=inst.pk).update(licence_status="fully_licensed")
    Staff.objects.filter(institution=inst).update(background_check_on=date(2026, 1, 5))


def test_incremental_after_one_township_equals_full_recomputation(area):
    today = timezone.localdate()
    refresh(today=today, full=True)
    before = _all()
    _change_one_township(area)
    refresh(today=today)
    after = _all()
    for period, start in (("day", today), ("week", week_start(today)), ("month", month_start(today))):
        for div in ANCESTORS:
            key = ("indicator.licensed_rate", period, start, div, "")
            assert after[key][0] == before[key][0] + 1, key
            assert after[key][1] == before[key][1], key
            key = ("indicator.staff_vetted_rate", period, start, div, "")
            assert after[key] == (before[key][0] + 1, before[key][1]), key
        key = ("indicator.licensed_rate", period, start, TOWNSHIP_2, "")
        assert after[key] == before[key]

    IndicatorValue.objects.all().delete()
    RefreshState.objects.all().delete()
    refresh(today=today, full=True)
    assert _all() == after


def test_incremental_rewrites_only_the_changed_township_and_its_ancestors(area):
    today = timezone.localdate()
    refresh(today=today, full=True)
    before = _ids()
    assert {k[3] for k in before} - ANCESTORS  # other divisions have rows to leave alone
    _change_one_township(area)
    summary = refresh(today=today)
    after = _ids()
    rewritten = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert rewritten
    assert {k[3] for k in rewritten} <= ANCESTORS, sorted({k[3] for k in rewritten} - ANCESTORS)
    assert {k[0] for k in rewritten} == {"indicator.licensed_rate", "indicator.staff_vetted_rate"}
    assert ("indicator.licensed_rate", "day", today, TOWNSHIP, "") in rewritten
    assert ("indicator.licensed_rate", "month", month_start(today), "", "") in rewritten
    assert summary["rows"] == len(rewritten)

    # nothing changed since: the next refresh writes nothing
    assert refresh(today=today)["rows"] == 0
    assert _ids() == after
