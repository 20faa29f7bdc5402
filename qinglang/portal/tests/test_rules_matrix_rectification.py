"""The rectification rules: the working days a notice gives (``rectification.default_deadline_days``)
and the working days overdue after which the sweep sends a 提示函, a 督办函 or proposes a
case (``rectification.reminder_after_overdue_days``,
``rectification.supervision_letter_after_overdue_days``, ``rectification.case_after_overdue_days``).
Each nationally and with 成都市's own figure: the deadline falls exactly that many working
days after the inspection, recorded through the API; the escalation comes exactly on the
day its figure is reached (not the day before), seen through the API's register, its
record citing the key, the value, the division that set it and the basis."""

from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model

from qinglang.core.calendar import add_working_days, is_working_day, working_days_between
from qinglang.core.models import AuditEvent
from qinglang.core.policy import policy_resolve
from qinglang.inspections import services
from qinglang.inspections.models import Escalation, Letter, Notice, RectificationItem, Task
from qinglang.inspections.tests.helpers import answer_all, campaign_data, inspectors
from qinglang.testing import make_institution

from .rule_checks import CITY, CITY_BASIS, city_sets, post_json, token_client

pytestmark = pytest.mark.django_db
DEADLINE = "rectification.default_deadline_days"
INSPECTED = date(2025, 9, 26)  # a Friday before the National Day holiday


@pytest.fixture
def tasks(admin, leader):
    """Two institutions of 武侯区, drawn for inspection, with their tasks."""
    insts = [make_institution(admin) for _ in range(2)]
    inspectors(4)
    c = services.campaign_create(actor=leader, data=campaign_data())
    services.campaign_draw(
        actor=leader, campaign_id=c.pk, share=1.0, seed="fixed-seed", today=date(2026, 3, 1)
    )
    return [Task.objects.get(campaign=c, institution=i) for i in insts]


def _member(task):
    return get_user_model().objects.get(pk=task.team.members.first().user_id)


def _cite(key, value, set_by) -> dict:
    basis = CITY_BASIS if set_by == CITY else policy_resolve(key, "").basis
    return {"rule": key, "value": value, "set_by": set_by, "basis": basis}


def _record_through_the_api(task, **kw):
    r = post_json(
        token_client(_member(task)),
        f"/api/inspections/tasks/{task.pk}/record",
        {
            "inspected_on": INSPECTED,
            "results": answer_all(task, findings={"F01": "rectification"}),
            **kw,
        },
    )
    assert r.status_code == 201, r.content
    return r.json()


# --- rectification.default_deadline_days --------------------------------------------------


@pytest.mark.parametrize(("where", "days"), [("national", 10), ("city", 7)])
def test_the_notice_deadline_through_the_api(tasks, where, days):
    """The notice is due exactly N working days after the inspection, across the
    National Day holiday (not a working day sooner); the record cites the rule."""
    set_by = CITY if where == "city" else "national"
    if where == "city":
        city_sets(DEADLINE, days)
    body = _record_through_the_api(tasks[0])
    due = add_working_days(INSPECTED, days)
    assert body["deadline_on"] == due.isoformat()
    assert working_days_between(INSPECTED, due) == days and add_working_days(INSPECTED, days - 1) < due
    notice = Notice.objects.get(task=tasks[0])
    assert (notice.deadline_days, notice.deadline_on) == (days, due)
    cited = AuditEvent.objects.get(action="inspection.record", object_id=str(body["id"])).changes
    assert cited["deadline_rule"] == _cite(DEADLINE, days, set_by)


def test_an_inspectors_own_deadline_cites_no_rule(tasks):
    """An inspector who sets the deadline on the record decides it, not the rule."""
    city_sets(DEADLINE, 7)
    body = _record_through_the_api(tasks[0], deadline_days=12)
    assert body["deadline_on"] == add_working_days(INSPECTED, 12).isoformat()
    cited = AuditEvent.objects.get(action="inspection.record", object_id=str(body["id"])).changes
    assert not cited.get("deadline_rule")


# --- the escalations ------------------------------------------------------------------------

# (key, the level it sets, its letter, the national figure, 成都市's)
LEVELS = [
    ("rectification.reminder_after_overdue_days", Escalation.REMINDER, "reminder", 1, 3),
    ("rectification.supervision_letter_after_overdue_days", Escalation.SUPERVISION, "supervision", 5, 7),
    ("rectification.case_after_overdue_days", Escalation.CASE_DUE, None, 10, 12),
]
STEPS = ("inside", "at", "beyond")


def _day_overdue(deadline: date, n: int, step: str) -> date:
    """The first day ``n`` working days after ``deadline`` (at), the day before it
    (inside: n − 1 working days) or the next working day after it (beyond: n + 1)."""
    d = deadline
    while working_days_between(deadline, d) < n:
        d += timedelta(days=1)
    if step == "inside":
        return d - timedelta(days=1)
    if step == "beyond":
        d += timedelta(days=1)
        while not is_working_day(d):
            d += timedelta(days=1)
    return d


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("where", ["national", "city"])
@pytest.mark.parametrize("level", LEVELS, ids=lambda lv: lv[0])
def test_an_escalation_comes_exactly_at_its_working_days_overdue(tasks, leader, level, where, step):
    key, escalation, letter, national, city = level
    days, set_by = (city, CITY) if where == "city" else (national, "national")
    if where == "city":
        city_sets(key, days)
    _record_through_the_api(tasks[0])
    item = RectificationItem.objects.get(institution_id=tasks[0].institution_id)
    today = _day_overdue(item.deadline_on, days, step)
    assert working_days_between(item.deadline_on, today) == days + {"inside": -1, "at": 0, "beyond": 1}[step]
    services.rectification_sweep_overdue(today=today)
    item.refresh_from_db()
    action = f"rectification.escalate.{escalation.name.lower()}"
    events = AuditEvent.objects.filter(action=action)
    register = token_client(leader).get("/api/inspections/rectifications")
    assert register.status_code == 200, register.content
    (listed,) = [x for x in register.json() if x["id"] == item.pk]
    if step == "inside":
        assert item.escalation < escalation and listed["escalation"] < escalation and not events.exists()
        assert letter is None or not Letter.objects.filter(item=item, kind=letter).exists()
        return
    assert item.escalation >= escalation
    assert listed["escalation"] >= escalation and listed["overdue"]
    assert letter is None or Letter.objects.filter(item=item, kind=letter).exists()
    (event,) = events
    c = event.changes
    assert {k: c[k] for k in ("rule", "value", "set_by", "basis")} == _cite(key, days, set_by)
    assert c["items"] == 1 and c["days"] == days
