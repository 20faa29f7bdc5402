"""A city's own figures for the clue rules decide where a case goes, and the case and its
routing record name the rule (policy key) that decided it."""

import pytest

from qinglang.accounts.permissions import system
from qinglang.clues import services
from qinglang.clues.models import ClueRouting
from qinglang.core.services import policy_set
from qinglang.testing import DEMO_COUNTY

from .test_triage import _case, _hotline, _row

pytestmark = pytest.mark.django_db
CITY = DEMO_COUNTY[:4]  # 成都市


def test_city_triage_confidence_sends_the_case_to_the_manual_queue_naming_the_rule(officer, institution):
    text = "星辰艺术培训中心那边最近怎么样"
    _hotline(officer, [_row("P1", text)])
    before = _case("P1")
    assert not before.needs_triage and before.triage_rule == ""  # the national floor lets it through
    policy_set(
        actor=system("test"), key="clue.triage_confidence", division_code=CITY, value=0.99, basis="市规定"
    )
    _hotline(officer, [_row("P2", text, org="另一家艺术培训中心")])
    c = _case("P2")
    assert c.category_confidence < 0.99 and c.needs_triage
    assert c.triage_rule == "clue.triage_confidence"  # the flag names the rule that decided
    services.clue_reclassify(actor=officer, clue_id=c.pk, category="other")
    c.refresh_from_db()
    assert not c.needs_triage and c.triage_rule == ""


def test_city_routing_matrix_changes_the_department_and_the_record_cites_the_rule(officer, institution):
    text = "星辰艺术培训中心门口失火过，消防通道堆满了杂物"
    _hotline(officer, [_row("R1", text)])
    default = _case("R1")
    assert default.category == "fire_safety" and default.routed_kind_list == ["fire"]
    policy_set(
        actor=system("test"),
        key="clue.routing",
        division_code=CITY,
        value={"fire_safety": ["market_regulation", "education"]},
        basis="市规定",
    )
    _hotline(officer, [_row("R2", text, org="另一家培训中心", address="别处1号")])
    c = _case("R2")
    assert c.pk != default.pk and c.category == "fire_safety"
    assert c.routed_kind_list == [
        "market_regulation",
        "education",
        "township_government",
    ]  # 属地: unregistered
    lead = ClueRouting.objects.get(clue=c, lead=True)
    assert lead.department_kind == "market_regulation"
    assert lead.rule == "clue.routing"  # the routing record cites the rule that decided
    assert {r.rule for r in ClueRouting.objects.filter(clue=default)} == {"clue.routing"}


def test_a_merge_beyond_the_city_dedupe_window_is_flagged_citing_the_rule(officer, institution):
    from datetime import timedelta

    from qinglang.clues.models import Clue
    from qinglang.core.models import AuditEvent

    from .test_cases import FIRE, REFUND_1, _case, _import

    def two_cases(a, b):
        _import(officer, [(a, REFUND_1, "星辰艺术培训中心"), (b, FIRE, "星辰艺术培训中心")])
        first, second = _case(a), _case(b)
        assert first.pk != second.pk
        Clue.objects.filter(pk=second.pk).update(received_at=first.received_at - timedelta(days=10))
        return first, second

    def merge(first, second):
        services.clue_merge(actor=officer, clue_id=second.pk, into_id=first.pk, reason="核实为同一问题")
        return AuditEvent.objects.filter(action="clue.merge", object_id=str(first.pk)).latest("seq").changes

    # national window 30 days: ten days apart is inside it, no flag
    assert "beyond_window" not in merge(*two_cases("W1", "W2"))
    # the city's window of 5 days: the same merge is made, flagged with the rule that it passes
    policy_set(
        actor=system("test"), key="clue.dedupe_window_days", division_code=CITY, value=5, basis="市规定"
    )
    flag = merge(*two_cases("W3", "W4"))["beyond_window"]
    assert flag == {
        "rule": "clue.dedupe_window_days",
        "value": 5,
        "set_by": CITY,
        "basis": "市规定",
        "days_apart": 10,
    }


def test_the_whistle_deadline_follows_the_city_and_a_late_report_is_flagged_citing_the_rule(officer):
    from datetime import timedelta

    from django.utils import timezone

    from qinglang.clues.models import Whistle
    from qinglang.core.models import AuditEvent
    from qinglang.testing import TOWNSHIP

    from .conftest import education_and_fire_whistle

    policy_set(actor=system("test"), key="whistle.report_hours", division_code=CITY, value=2, basis="市规定")
    w = education_and_fire_whistle(officer)
    assert w.due_at - w.raised_at == timedelta(hours=2)  # the city's 2 hours, not the national 24
    raised = AuditEvent.objects.get(action="whistle.raise", object_id=str(w.pk)).changes
    assert (raised["rule"], raised["hours"], raised["set_by"]) == ("whistle.report_hours", 2, CITY)

    services.whistle_report(actor=officer, whistle_id=w.pk, department_kind="education", action="已派员到场")
    on_time = AuditEvent.objects.filter(action="whistle.report", object_id=str(w.pk)).latest("seq").changes
    assert on_time["late"] is False and "rule" not in on_time
    Whistle.objects.filter(pk=w.pk).update(
        raised_at=timezone.now() - timedelta(hours=3), due_at=timezone.now() - timedelta(hours=1)
    )
    services.whistle_report(actor=officer, whistle_id=w.pk, department_kind="fire", action="已检查消防通道")
    late = AuditEvent.objects.filter(action="whistle.report", object_id=str(w.pk)).latest("seq").changes
    assert late["late"] is True and late["rule"] == "whistle.report_hours" and late["hours"] == 2
    assert TOWNSHIP.startswith(CITY)


def test_the_city_acknowledge_limit_sets_the_deadline_and_the_escalation_cites_the_rule(officer, institution):
    from datetime import timedelta

    from django.utils import timezone

    from qinglang.clues.models import Clue
    from qinglang.core.calendar import add_working_days
    from qinglang.core.models import AuditEvent

    from .test_rules import _lead

    policy_set(actor=system("test"), key="clue.acknowledge_days", division_code=CITY, value=3, basis="市规定")
    c = _lead(officer, "机构拒绝退费", uscc=institution.uscc)
    due = add_working_days(timezone.localdate(c.received_at), 3)
    assert c.acknowledge_due == due  # the city's 3 working days, not the national 1
    # on the last day of the limit nothing happens; the day after, the case is escalated
    assert services.clue_escalate_overdue(today=due) == {"leader": 0, "task_force": 0}
    assert services.clue_escalate_overdue(today=due + timedelta(days=1)) == {"leader": 1, "task_force": 0}
    esc = AuditEvent.objects.get(action="clue.escalate", object_id=str(c.pk)).changes
    assert (esc["rule"], esc["value"], esc["set_by"], esc["basis"]) == (
        "clue.acknowledge_days",
        3,
        CITY,
        "市规定",
    )
    assert Clue.objects.get(pk=c.pk).escalation_level == 1
