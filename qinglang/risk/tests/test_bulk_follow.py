"""What follows a day's level changes is written set-based: on a first day every level is
new, so alerts, their first transition rows, audit events and notifications go in a fixed
number of statements whatever the number of institutions."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from qinglang.accounts.models import Notification, Role
from qinglang.accounts.permissions import system
from qinglang.core.calendar import add_working_days
from qinglang.core.models import AuditEvent
from qinglang.risk import services
from qinglang.risk.models import Alert, AlertTransition, Guardian, RiskState
from qinglang.risk.services import level_changes_follow
from qinglang.testing import make_institution, make_user

pytestmark = pytest.mark.django_db

ACTOR = system("risk-score")


def _changes(insts, old, new, score=60):
    return [
        (i.pk, old, new, score, {"score": score, "signals": []}, i.division_code, i.competent_department.kind)
        for i in insts
    ]


def _follow(changes, day):
    with transaction.atomic(), CaptureQueriesContext(connection) as q:
        level_changes_follow(changes, day=day, actor=ACTOR)
    return len(q.captured_queries)


def test_a_first_day_opens_every_alert_in_a_fixed_number_of_statements(admin):
    day = timezone.localdate()
    officer = make_user(Role.REGULATOR_OFFICER, department_kind="culture_tourism")
    leader = make_user(Role.REGULATOR_LEADER)
    few = [make_institution(admin, kind="arts") for _ in range(2)]
    many = [make_institution(admin, kind="arts") for _ in range(9)]
    assert {i.competent_department.kind for i in few + many} == {"culture_tourism"}

    warm = make_institution(admin, kind="arts")
    _follow(_changes([warm], "blue", "orange"), day)  # first call names the id sequence once
    q_few = _follow(_changes(few, "blue", "orange"), day)
    q_many = _follow(_changes(many, "blue", "red", 90), day)
    assert q_many == q_few  # set-based: no statement per institution

    alerts = {a.institution_id: a for a in Alert.objects.all()}
    assert set(alerts) == {i.pk for i in [warm, *few, *many]}
    a = alerts[many[0].pk]
    assert (a.status, a.level, a.opened_on) == ("open", "red", day)
    assert a.due_on == add_working_days(day, a.explanation["due"]["working_days"])
    assert a.explanation["due"]["rule"] == "risk.alert_days"
    # the state machine's first row of each alert: open → open
    rows = AlertTransition.objects.filter(alert__in=alerts.values())
    assert sorted(rows.values_list("alert_id", "from_status", "to_status")) == sorted(
        (x.pk, "open", "open") for x in alerts.values()
    )
    opened = AuditEvent.objects.filter(action="risk.alert_open")
    assert set(opened.values_list("object_id", flat=True)) == {str(x.pk) for x in alerts.values()}
    # one notification per alert to the department and, orange and red, to the task force
    for person in (officer, leader):
        got = Notification.objects.filter(recipient=person, kind="risk.alert")
        assert sorted(n.link for n in got) == sorted(f"/console/risk/alerts/{x.pk}/" for x in alerts.values())
    sent = AuditEvent.objects.filter(action="notification.send", object_type="risk.alert")
    assert sent.count() == 12


def test_a_rise_raises_the_open_alert_and_a_fall_ends_the_guardian(admin):
    day = timezone.localdate()
    grid = make_user(Role.GRID_WORKER)
    leader = make_user(Role.REGULATOR_LEADER)
    up, down = make_institution(admin), make_institution(admin)
    _follow(_changes([up], "blue", "yellow"), day)
    _follow(_changes([down], "blue", "red", 90), day)
    yellow = Alert.objects.get(institution=up)
    for inst, level in ((up, "yellow"), (down, "red")):
        RiskState.objects.create(
            institution=inst, level=level, score=60, day=day, since=day, division_code=inst.division_code
        )
    RiskState.objects.filter(institution=up).update(level="red")
    g = services.guardian_assign(actor=leader, institution_id=down.pk, unit="浆洗街街道办", user_id=grid.pk)

    later = day + timedelta(days=1)
    _follow(_changes([up], "yellow", "red", 90) + _changes([down], "red", "yellow", 30), later)
    yellow.refresh_from_db()
    assert yellow.level == "red" and yellow.due_on <= add_working_days(
        later, yellow.explanation["due"]["working_days"]
    )
    assert Alert.objects.filter(institution=up).count() == 1  # raised, not a second alert
    assert AuditEvent.objects.filter(action="risk.alert_raise", object_id=str(yellow.pk)).exists()
    g.refresh_from_db()
    assert (g.active, g.ended_on) == (False, later) and "黄色" in g.ended_reason
    assert AuditEvent.objects.filter(action="risk.guardian_end", object_id=str(g.pk)).exists()
    assert not Guardian.objects.filter(active=True).exists()
    # the red alert of the falling institution stays open (a fall closes nothing by itself)
    assert Alert.objects.get(institution=down).status == "open"
