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
