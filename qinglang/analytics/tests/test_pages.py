"""The dashboard and the drill-through: what a leader sees, scoping, bad input, and a
query count that does not grow with the number of institutions."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from qinglang.accounts.models import Role
from qinglang.analytics.refresh import refresh
from qinglang.risk.tests.factories import at, clue
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, TOWNSHIP, make_institution, make_user

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _late_clue(inst, today):
    c = clue(inst, day=today - timedelta(days=9))
    c.resolve_due = today - timedelta(days=2)
    c.save()
    return c


def test_leader_sees_targets_children_lagging_first_and_drills_through():
    today = timezone.localdate()
    good = make_institution(division_code="510107004001")
    bad = make_institution(division_code=TOWNSHIP, licensed=False)
    make_institution(division_code=OTHER_COUNTY, name="锦江区外县机构")
    _late_clue(bad, today)
    refresh(today=today, full=True)
    leader = make_user(Role.REGULATOR_LEADER, prefixes=[DEMO_COUNTY])
    r = _client(leader).get(
        reverse("portal:analytics_dashboard"), {"period": "day", "start": today.isoformat()}
    )
    assert r.status_code == 200
    body = r.content.decode()
    assert "证照齐全率" in body and "50.0%" in body  # one of the county's two is fully licensed
    units = body[body.index('id="unit-table"') :]
    assert units.index("浆洗街街道") < units.index("division=510107004&")  # the lagging township first
    assert f"division={OTHER_COUNTY}" not in body
    r = _client(leader).get(
        reverse("portal:analytics_drill"),
        {
            "indicator": "indicator.licensed_rate",
            "division": DEMO_COUNTY,
            "period": "day",
            "start": today.isoformat(),
        },
    )
    assert r.status_code == 200
    body = r.content.decode()
    assert bad.name in body and good.name in body and "1 ÷ 2" in body
    assert "锦江区外县机构" not in body
    # the week of the late clue: 0 of 1 on time, the clue listed behind the value
    r = _client(leader).get(
        reverse("portal:analytics_drill"),
        {
            "indicator": "indicator.clue_on_time_rate",
            "division": TOWNSHIP,
            "period": "week",
            "start": (today - timedelta(days=2)).isoformat(),
        },
    )
    assert "0 ÷ 1" in r.content.decode()


def test_out_of_scope_and_bad_input_are_refused():
    leader = make_user(Role.REGULATOR_LEADER, prefixes=[DEMO_COUNTY])
    c = _client(leader)
    assert c.get(reverse("portal:analytics_dashboard"), {"division": OTHER_COUNTY}).status_code == 404
    r = c.get(reverse("portal:analytics_dashboard"), {"period": "year"})
    assert r.status_code == 400 and "周期应为日、周或月" in r.content.decode()
    assert c.get(reverse("portal:analytics_dashboard"), {"start": "2026-13-01"}).status_code == 400
    assert c.get(reverse("portal:analytics_drill"), {"indicator": "nope"}).status_code == 404
    assert Client().get(reverse("portal:analytics_dashboard")).status_code == 302
    r = c.get("/api/analytics/values", {"division": OTHER_COUNTY})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    institution_user = make_user(Role.INSTITUTION_ADMIN, institution_id=make_institution().pk)
    assert _client(institution_user).get("/api/analytics/values").status_code == 403


def _queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as q:
        assert client.get(url, params).status_code == 200
    return len(q)


def test_dashboard_queries_constant_in_institutions():
    today = timezone.localdate()
    leader = make_user(Role.REGULATOR_LEADER, prefixes=[DEMO_COUNTY])
    c = _client(leader)
    make_institution()
    refresh(today=today)
    params = {"period": "week"}
    url = reverse("portal:analytics_dashboard")
    c.get(url, params)
    few, api_few = _queries(c, url, params), _queries(c, "/api/analytics/values", params)
    # session, user, memberships, notifications; then the roll-ups: a fixed handful
    assert few <= 12 and api_few <= 11, (few, api_few)
    for code in ("510107001004", "510107004001", "510107005001", TOWNSHIP, "510107004"):
        for _ in range(3):
            inst = make_institution(division_code=code)
            _late_clue(inst, today)
    refresh(today=today, full=True)
    assert _queries(c, url, params) == few
    assert _queries(c, "/api/analytics/values", params) == api_few
    body = c.get(url, params).content.decode()
    assert "浆洗街街道" in body


def test_api_values_match_the_page():
    today = timezone.localdate()
    inst = make_institution()
    c = clue(inst, day=today - timedelta(days=9))
    c.resolve_due = today - timedelta(days=2)
    c.concluded_at = at(today - timedelta(days=3))
    c.save()
    refresh(today=today, full=True)
    leader = make_user(Role.REGULATOR_LEADER, prefixes=[DEMO_COUNTY])
    r = _client(leader).get(
        "/api/analytics/values", {"period": "day", "start": (today - timedelta(days=2)).isoformat()}
    )
    assert r.status_code == 200
    row = next(x for x in r.json()["rows"] if x["indicator"] == "indicator.clue_on_time_rate")
    assert (row["numerator"], row["denominator"], row["value"], row["status"]) == (1, 1, 1.0, "green")
    assert row["children"][0]["code"] == TOWNSHIP


def test_demo_history_gives_a_year_of_weeks():
    import random

    from qinglang.analytics.demo import WEEKS, seed_district
    from qinglang.analytics.models import IndicatorValue

    today = timezone.localdate()
    for code in (TOWNSHIP, "510107004001"):
        make_institution(division_code=code)
    _late_clue(make_institution(), today)
    counts = seed_district(county=DEMO_COUNTY, rng=random.Random(7), log=lambda s: None)
    assert counts["indicator_values"] > 0
    weeks = IndicatorValue.objects.filter(
        indicator="indicator.licensed_rate", period="week", division_code=TOWNSHIP, department_kind=""
    )
    assert weeks.count() >= WEEKS
    values = [v.value for v in weeks.order_by("period_start")]
    assert values[0] < values[-1] <= 1.0  # the campaign's progress shows
    # two weekly notices with the change on the week before; school reports; daily reports
    from qinglang.analytics.models import DailyReport, RankingNotice

    assert counts["notices"] == 2 and RankingNotice.objects.count() == 2
    latest = RankingNotice.objects.order_by("-week_start").first().data
    lic = next(i for i in latest["indicators"] if i["key"] == "indicator.licensed_rate")
    assert any(u["change"] is not None for u in lic["townships"])  # the week before is known
    assert counts["school_reports"] > 0 and counts["daily_reports"] == DailyReport.objects.count() > 0
    # the work ledger and a superior's problem list, two of them overdue and reminded
    from qinglang.analytics.models import SupervisionProblem, WorkTask

    assert counts["work_ledger"] == 8 and WorkTask.objects.filter(status="done").count() == 1
    assert SupervisionProblem.objects.filter(reminded_on=today).count() == 2
    assert SupervisionProblem.objects.filter(escalated_on=today).count() == 1  # ten days late
    assert seed_district(county=DEMO_COUNTY, rng=random.Random(7), log=lambda s: None) == {
        "indicator_values": 0
    }
