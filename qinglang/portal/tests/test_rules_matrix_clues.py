"""The time limits of a clue (线索): accepted within ``clue.acknowledge_days`` working
days, concluded within ``clue.resolve_days``; the escalation sweep leaves a case on the
last day of its limit and the day before, and escalates it the day after, nationally and
with the city's own figures. The escalation's record names the key, the value, the
division that set it and the basis."""

from datetime import timedelta

import pytest
from django.utils import timezone

from qinglang.accounts.permissions import system
from qinglang.clues import services
from qinglang.clues.models import Clue
from qinglang.core.calendar import add_working_days
from qinglang.core.models import AuditEvent
from qinglang.core.policy import policy_resolve
from qinglang.core.services import department_ensure_for_division
from qinglang.testing import DEMO_COUNTY, TOWNSHIP, make_institution, make_user

from .rule_checks import CITY, CITY_BASIS, city_sets

pytestmark = pytest.mark.django_db
ACK, RESOLVE = "clue.acknowledge_days", "clue.resolve_days"
# key → (national figure, the city's figure)
LIMITS = {ACK: (1, 3), RESOLVE: (15, 10)}
STEPS = {"inside": -1, "at": 0, "beyond": 1}


def _clue(*, accepted: bool) -> Clue:
    """A covert visit's lead about a registered institution (refund difficulty: education
    leads), accepted by the county's officer or not."""
    for code in (DEMO_COUNTY, TOWNSHIP):
        department_ensure_for_division(actor=system("test"), division_code=code)
    officer = make_user("regulator_officer")
    inst = make_institution(name="星辰艺术培训中心", kind="arts")
    c = services.clue_lead_create(
        actor=officer,
        submission=services.Submission(
            channel="covert_visit", content="机构拒绝退费", division_code=TOWNSHIP, uscc=inst.uscc
        ),
    ).clue
    if accepted:
        services.clue_accept(actor=officer, clue_id=c.pk)
    return c


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("where", ["national", "city"])
@pytest.mark.parametrize("key", LIMITS)
def test_a_clue_limit_escalates_only_beyond_it(key, where, step):
    national, city = LIMITS[key]
    days = city if where == "city" else national
    if where == "city":
        city_sets(key, city)
    c = _clue(accepted=key == RESOLVE)  # an accepted case is late only on its resolve limit
    due = add_working_days(timezone.localdate(c.received_at), days)
    assert (c.acknowledge_due if key == ACK else c.resolve_due) == due
    escalated = services.clue_escalate_overdue(today=due + timedelta(days=STEPS[step]))
    events = AuditEvent.objects.filter(action="clue.escalate", object_id=str(c.pk))
    if step != "beyond":
        assert escalated == {"leader": 0, "task_force": 0} and not events.exists()
        assert Clue.objects.get(pk=c.pk).escalation_level == 0
        return
    assert escalated == {"leader": 1, "task_force": 0}
    esc = events.get().changes
    set_by = CITY if where == "city" else "national"
    basis = CITY_BASIS if where == "city" else policy_resolve(key, "").basis
    assert (esc["rule"], esc["value"], esc["set_by"], esc["basis"]) == (key, days, set_by, basis)
    assert esc["reason"] == (
        "超过受理时限，提请部门领导督办" if key == ACK else "超过办结时限，提请部门领导督办"
    )
    assert Clue.objects.get(pk=c.pk).escalation_level == 1
