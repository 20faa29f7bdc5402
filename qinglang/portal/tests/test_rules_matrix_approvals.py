"""The time limit of an approval decision (``approval.decision_days``): an application
received through the API or the window's page is due exactly that many working days
later (the city's own figure where it sets one), its record citing the rule; a decision
made on the last day, or the day before, is on time; one made the day after says it was
late, naming the key, the value, the division that set it and the basis."""

import json
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from qinglang.core.calendar import add_working_days, is_working_day
from qinglang.core.models import AuditEvent
from qinglang.core.policy import policy_resolve
from qinglang.registry import services as registry
from qinglang.registry.models import Application, ApplicationTransition
from qinglang.testing import make_user

from .rule_checks import CITY, CITY_BASIS, assert_cites, city_sets, post_json, token_client
from .test_rules_in_force import ESTABLISH

pytestmark = pytest.mark.django_db
KEY = "approval.decision_days"
PDF = b"%PDF-1.4\n% rules in force\n"
PERIODS = {"national": 20, "city": 10}
STEPS = {"inside": -1, "at": 0, "beyond": 1}
CHECKLIST = {"fire_acceptance": True, "staff_ratio": True, "qualifications": True}


def _docs() -> dict:
    return {d: SimpleUploadedFile(f"{d}.pdf", PDF) for d in registry.REQUIRED_DOCUMENTS["establish"]}


def _cite(value, set_by) -> dict:
    basis = CITY_BASIS if set_by == CITY else policy_resolve(KEY, "").basis
    return {"rule": KEY, "value": value, "set_by": set_by, "basis": basis}


@pytest.mark.parametrize("where", PERIODS)
def test_the_time_limit_of_an_application_received_through_the_api(officer, where):
    """Due exactly N working days after receipt, not a day sooner; the receipt's record
    cites the rule (成都市's 10 days where it sets them, else the national 20)."""
    days = PERIODS[where]
    set_by = CITY if where == "city" else "national"
    if where == "city":
        city_sets(KEY, days)
    r = token_client(officer).post(
        "/api/registry/applications", {"kind": "establish", "data": json.dumps(ESTABLISH), **_docs()}
    )
    assert r.status_code == 201, r.content
    body = r.json()
    received = date.fromisoformat(body["submitted_on"])
    due = add_working_days(received, days)
    assert body["due_on"] == due.isoformat() and add_working_days(received, days - 1) < due
    ev = AuditEvent.objects.get(action="application.submit", object_id=str(body["id"]))
    assert ev.changes["due_rule"] == _cite(days, set_by)


def test_the_citys_time_limit_on_the_windows_page(client, officer):
    """Received on the window's page: the application's page shows 成都市's limit."""
    city_sets(KEY, 10)
    client.force_login(officer)
    html = client.post(reverse("portal:applications"), {**ESTABLISH, **_docs()}, follow=True).content.decode()
    assert "申请已受理" in html
    app = Application.objects.get()
    assert app.due_on == add_working_days(app.submitted_on, 10)
    page = client.get(reverse("portal:application_detail", args=[app.pk])).content.decode()
    assert f"决定期限 {app.due_on.isoformat()}" in page


def _received_so_that_due(officer, due: date, days: int) -> Application:
    """An application received on the day whose time limit of ``days`` ends on ``due``."""
    received = due
    while add_working_days(received, days) > due:
        received -= timedelta(days=1)
    assert add_working_days(received, days) == due  # ``due`` is a working day
    return registry.application_submit(
        actor=officer, kind="establish", data={**ESTABLISH}, files=_docs(), today=received
    )


def _last_working_day_from(d: date, step: int) -> date:
    while not is_working_day(d):
        d += timedelta(days=step)
    return d


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("where", PERIODS)
def test_a_decision_after_the_limit_says_it_was_late_naming_the_rule(officer, where, step):
    """Decided today through the API: on an application due tomorrow (inside) or today
    (at), the decision's record says nothing of lateness; on one due before today
    (beyond), its transition row and record say how late, citing the rule."""
    days = PERIODS[where]
    set_by = CITY if where == "city" else "national"
    if where == "city":
        city_sets(KEY, days)
    today = timezone.localdate()
    due = {
        "inside": _last_working_day_from(today + timedelta(days=1), 1),
        "at": today,
        "beyond": _last_working_day_from(today - timedelta(days=1), -1),
    }[step]
    if step == "at" and not is_working_day(today):
        pytest.skip("today is no working day: no application falls due on it")
    app = _received_so_that_due(officer, due, days)
    r = post_json(
        token_client(make_user("regulator_officer", department_kind="sports")),
        f"/api/registry/applications/{app.pk}/decide",
        {"approve": True, "reason": "审查合格", "checklist": CHECKLIST},
    )
    assert r.status_code == 200 and r.json()["status"] == "approved", r.content
    row = ApplicationTransition.objects.get(application=app, to_status="approved")
    event = AuditEvent.objects.get(action="application.approved", object_id=str(app.pk))
    if step != "beyond":
        assert row.reason == "审查合格" and event.changes["reason"] == "审查合格"
        return
    late = (today - due).days
    assert row.reason.startswith(f"审查合格(逾期{late}天作出。")
    assert_cites(row.reason, KEY, days, set_by)
    assert_cites(event.changes["reason"], KEY, days, set_by)
