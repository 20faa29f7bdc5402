"""The risk workflow's rules: the level lines (``risk.level_thresholds``), the time limit of
an alert (``risk.alert_days``), the guardian's visiting interval
(``risk.guardian_checkin_days``) and how long a reported signal counts
(``risk.manual_signal_days``). Each at, just inside and just beyond its figure, with
成都市's own figure (a report counts for the days of its institution's division); the
score's explanation, the alert (through the API), the institution's risk page and the
guardian's records cite the key, the value, the division that set it and the basis."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from qinglang.accounts.models import Role
from qinglang.core.calendar import add_working_days
from qinglang.core.models import AuditEvent
from qinglang.core.policy import policy_resolve
from qinglang.risk.models import Alert, RiskScore, RiskSignal, RiskState
from qinglang.risk.scoring import score_day
from qinglang.risk.tests import factories as f
from qinglang.testing import OTHER_COUNTY, make_institution, make_user

from .rule_checks import CITY, CITY_BASIS, assert_cites, city_sets, post_json, token_client

pytestmark = pytest.mark.django_db
LEVELS = "risk.level_thresholds"
ALERT_DAYS = "risk.alert_days"
CHECKIN = "risk.guardian_checkin_days"
MANUAL = "risk.manual_signal_days"


def _cite(key, value, set_by) -> dict:
    basis = CITY_BASIS if set_by == CITY else policy_resolve(key, "").basis
    return {"rule": key, "value": value, "set_by": set_by, "basis": basis}


def _sixty_five(inst, day) -> None:
    """head unreachable (40) + two runaway complaints (25) = 65."""
    f.report(inst, kind="head_unreachable", observed_on=day, evidence="校长电话关机三天，门店关门")
    for _ in range(2):
        f.clue(inst, day=day, category="runaway", summary="交了一年学费，现在门店关门")


def _scored_at_65(admin, where: str, key: str, value):
    """(who set ``key``, an institution scored 65 today, today), 成都市 setting ``value``
    where ``where`` is the city."""
    if where == "city":
        city_sets(key, value)
    inst, day = make_institution(admin), timezone.localdate()
    _sixty_five(inst, day)
    score_day(day)
    return (CITY if where == "city" else "national"), inst, day


# the city's orange line against a score of 65: at it, below it (inside) and above it
LINES = {
    "inside": ([20, 64, 90], "orange"),
    "at": ([20, 65, 90], "orange"),
    "beyond": ([20, 66, 90], "yellow"),
}


@pytest.mark.parametrize("step", LINES)
def test_the_citys_level_lines_decide_the_level_and_the_alert_names_them(admin, step):
    """A score of 65 is orange where the line is at or below it, yellow one point short;
    the score's explanation and the alert (through the API) cite 成都市's lines."""
    lines, level = LINES[step]
    city_sets(LEVELS, lines)
    inst, day = make_institution(admin), timezone.localdate()
    _sixty_five(inst, day)
    score_day(day)
    assert RiskState.objects.get(institution=inst).level == level
    ex = RiskScore.objects.get(institution=inst, day=day).explanation
    assert ex["thresholds_cited"] == _cite(LEVELS, lines, CITY) and ex["thresholds"] == lines
    officer = make_user(Role.REGULATOR_OFFICER, department_kind=inst.competent_department.kind)
    (alert,) = token_client(officer).get("/api/risk/alerts").json()
    assert alert["level"] == level and alert["explanation"]["thresholds_cited"]["set_by"] == CITY


def test_the_national_level_lines_make_65_orange(admin):
    inst, day = make_institution(admin), timezone.localdate()
    _sixty_five(inst, day)
    score_day(day)
    assert RiskState.objects.get(institution=inst).level == "orange"
    ex = RiskScore.objects.get(institution=inst, day=day).explanation
    assert ex["thresholds_cited"] == _cite(LEVELS, [25, 50, 80], "national")


@pytest.mark.parametrize(("where", "days"), [("national", [10, 5, 2]), ("city", [8, 4, 1])])
def test_the_alerts_time_limit_through_the_api(admin, where, days):
    """An orange alert is due exactly the orange figure's working days after it opens
    (not a working day sooner), its explanation citing the rule."""
    set_by, inst, day = _scored_at_65(admin, where, ALERT_DAYS, days)
    officer = make_user(Role.REGULATOR_OFFICER, department_kind=inst.competent_department.kind)
    (alert,) = token_client(officer).get("/api/risk/alerts").json()
    due = add_working_days(day, days[1])
    assert alert["level"] == "orange" and alert["due_on"] == due.isoformat()
    assert add_working_days(day, days[1] - 1) < due
    cited = alert["explanation"]["due"]
    assert {k: cited[k] for k in ("rule", "value", "set_by", "basis")} == _cite(ALERT_DAYS, days, set_by)
    assert cited["working_days"] == days[1]
    assert Alert.objects.get(institution=inst).due_on == due


@pytest.mark.parametrize("step", ["inside", "at", "beyond"])
@pytest.mark.parametrize(("where", "days"), [("national", 7), ("city", 3)])
def test_a_missed_visit_is_escalated_only_after_the_interval(admin, where, days, step):
    """Assigned through the API, the guardian's first visit is due the interval's days
    later; the day before and on that day nothing is escalated, the day after the missed
    visit goes to the task force, its record citing the rule."""
    set_by, inst, day = _scored_at_65(admin, where, CHECKIN, days)
    grid = make_user(Role.GRID_WORKER)
    r = post_json(
        token_client(make_user(Role.REGULATOR_LEADER)),
        f"/api/risk/institutions/{inst.pk}/guardian",
        {"unit": "浆洗街街道办", "user_id": grid.pk},
    )
    assert r.status_code == 201, r.content
    g = r.json()
    assert g["next_due"] == (day + timedelta(days=days)).isoformat()
    assigned = AuditEvent.objects.get(action="risk.guardian_assign", object_id=str(g["id"])).changes
    assert {k: assigned[k] for k in ("rule", "value", "set_by", "basis")} == _cite(CHECKIN, days, set_by)
    from qinglang.risk import services

    today = day + timedelta(days=days + {"inside": -1, "at": 0, "beyond": 1}[step])
    escalated = services.guardians_escalate_missed(today=today)
    missed = AuditEvent.objects.filter(action="risk.checkin_missed", object_id=str(g["id"]))
    if step != "beyond":
        assert escalated == 0 and not missed.exists()
        return
    assert escalated == 1
    assert missed.get().changes == {"due": g["next_due"], **_cite(CHECKIN, days, set_by)}


@pytest.mark.parametrize(
    ("days", "step"), [(30, "inside"), (30, "at"), (30, "beyond"), (3, "at"), (3, "beyond")]
)
def test_a_report_counts_for_its_days_and_not_one_more(admin, days, step):
    """A reported signal seen on day D counts on D + days − 1 (at) and before it (inside),
    not on D + days (beyond); the score's explanation cites the rule."""
    if days != 30:
        city_sets(MANUAL, days, division="", basis="全国规定(测试)")
    inst, seen = make_institution(admin), timezone.localdate()
    f.report(inst, kind="site_change", observed_on=seen, evidence="房东称租约月底到期不再续租")
    on = seen + timedelta(days=days - 1 + {"inside": -1, "at": 0, "beyond": 1}[step])
    score_day(on)
    fired = RiskSignal.objects.filter(institution=inst, day=on, kind="site_change").exists()
    assert fired == (step != "beyond")
    if fired:
        ex = RiskScore.objects.get(institution=inst, day=on).explanation
        basis = "全国规定(测试)" if days != 30 else policy_resolve(MANUAL, "").basis
        assert ex["reports_cited"] == {"rule": MANUAL, "value": days, "set_by": "national", "basis": basis}


@pytest.mark.parametrize("step", ["inside", "at", "beyond"])
def test_the_citys_report_days_decide_whether_a_report_still_counts(admin, step):
    """成都市 keeps a report for 5 days and 锦江区 for 10: seen on D, a report about an
    institution of 武侯区 counts on D + 3 (inside) and D + 4 (at), not on D + 5 (beyond),
    while one about an institution of 锦江区 still counts on all three, in the same run.
    The score's explanation (through the API) and the institution's risk page cite the
    figure in force and the division that set it."""
    city_sets(MANUAL, 5)
    city_sets(MANUAL, 10, division=OTHER_COUNTY, basis="锦江区规定(测试)")
    here, there = make_institution(admin), make_institution(admin, division_code=OTHER_COUNTY)
    seen = timezone.localdate()
    for inst in (here, there):
        f.report(inst, kind="site_change", observed_on=seen, evidence="房东称租约月底到期不再续租")
    on = seen + timedelta(days=4 + {"inside": -1, "at": 0, "beyond": 1}[step])
    score_day(on)
    fired = set(
        RiskSignal.objects.filter(day=on, kind="site_change").values_list("institution_id", flat=True)
    )
    assert fired == ({here.pk, there.pk} if step != "beyond" else {there.pk})
    there_ex = RiskScore.objects.get(institution=there, day=on).explanation
    assert there_ex["reports_cited"] == {
        "rule": MANUAL,
        "value": 10,
        "set_by": OTHER_COUNTY,
        "basis": "锦江区规定(测试)",
    }
    if step == "beyond":
        assert not RiskScore.objects.filter(institution=here, day=on).exists()
        return
    officer = make_user(Role.REGULATOR_OFFICER, department_kind=here.competent_department.kind)
    (latest, *_) = token_client(officer).get(f"/api/risk/institutions/{here.pk}").json()["history"]
    assert latest["day"] == on.isoformat()
    assert latest["explanation"]["reports_cited"] == _cite(MANUAL, 5, CITY)
    assert latest["explanation"]["reports_valid_days"] == 5
    page = Client()
    page.force_login(officer)
    assert_cites(
        page.get(reverse("portal:risk_institution", args=[here.pk])).content.decode(), MANUAL, 5, CITY
    )
