"""The intake rules of a clue (线索), nationally and with 成都市's own figures, through
the API (on a token) and the officer's pages:

- ``clue.routing``: the city's matrix sends a category to another department; the case's
  routing records and its creation's record cite the rule, set by the city.
- ``clue.triage_confidence``: a category confidence at or above the floor is routed
  automatically, one just below it goes to the manual queue (待人工分类), the case and its
  record naming the rule.
- ``clue.dedupe_window_days``: two cases whose first reports are just inside or exactly
  the window apart are suggested as duplicates and merged plainly; just beyond it the
  merge is still made (the officer knows it is one problem) and flagged, citing the rule."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from qinglang.accounts.permissions import system
from qinglang.clues.classify import classify
from qinglang.clues.models import Clue, ClueReport, ClueRouting, ClueStatus
from qinglang.core.models import AuditEvent, Department
from qinglang.core.services import department_ensure_for_division
from qinglang.testing import DEMO_COUNTY, TOWNSHIP, make_institution

from .rule_checks import CITY, cited, city_sets, in_force, post_json, token_client

pytestmark = pytest.mark.django_db
ROUTING, TRIAGE, WINDOW = "clue.routing", "clue.triage_confidence", "clue.dedupe_window_days"
FIRE = "门口失火过，消防通道堆满了杂物"
CITY_ROUTING = {"fire_safety": ["market_regulation", "education"]}


@pytest.fixture
def institution(db):
    """A registered arts institution of 武侯区, its county's and township's departments."""
    for code in (DEMO_COUNTY, TOWNSHIP):
        department_ensure_for_division(actor=system("test"), division_code=code)
    return make_institution(name="星辰艺术培训中心", kind="arts")


def _page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _lead(officer, institution, content: str, via: str) -> Clue:
    """A covert-visit lead about the institution, entered through the API or the lead
    form; the case it opened."""
    body = {
        "channel": "covert_visit",
        "division_code": TOWNSHIP,
        "content": content,
        "uscc": institution.uscc,
    }
    if via == "api":
        r = post_json(token_client(officer), "/api/clues/leads", body)
        assert r.status_code == 201, r.content
        return Clue.objects.get(pk=r.json()["id"])
    r = _page(officer).post(reverse("portal:clue_lead_new"), body)
    assert r.status_code == 302, r.content.decode()[:2000]
    return ClueReport.objects.get(content=content).clue


def _created(c: Clue) -> dict:
    return AuditEvent.objects.get(action="clue.create", object_id=str(c.pk)).changes


# --- clue.routing --------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["api", "page"])
@pytest.mark.parametrize("where", ["national", "city"])
def test_the_routing_matrix_chooses_the_department_and_is_cited(officer, institution, where, via):
    from qinglang.core.policy_defaults import BY_KEY

    if where == "city":
        city_sets(ROUTING, CITY_ROUTING)
    c = _lead(officer, institution, FIRE, via)
    assert c.category == "fire_safety" and c.status == ClueStatus.ROUTED
    kinds = ["market_regulation", "education"] if where == "city" else ["fire"]
    assert c.routed_kind_list == kinds
    routings = list(ClueRouting.objects.filter(clue=c).select_related("department").order_by("id"))
    assert [r.department_kind for r in routings] == kinds and routings[0].lead
    assert {r.rule for r in routings} == {ROUTING}  # each routing record names the rule
    matrix = CITY_ROUTING if where == "city" else BY_KEY[ROUTING].value
    assert _created(c)["routing_rule"] == cited(ROUTING, matrix, CITY if where == "city" else "national")
    if via == "api":
        seen = token_client(officer).get(f"/api/clues/clues/{c.pk}").json()
        assert seen["routed_kinds"] == kinds
    else:
        page = _page(officer).get(reverse("portal:clue_detail", args=[c.pk])).content.decode()
        for r in routings:
            assert r.department.name in page
        other = "fire" if where == "city" else "market_regulation"  # the other matrix's lead
        assert Department.objects.get(division_id=DEMO_COUNTY, kind=other).name not in page


# --- clue.triage_confidence ---------------------------------------------------------------

# the floor against the lead's own confidence: just below it, exactly it, just above it
FLOOR_STEPS = {"below": -0.001, "at": 0.0, "above": 0.001}
CLEAR = "老师上课一直玩手机"  # staff conduct, the model sure of it (0.97)
UNSURE = "周末还在上学科类的课"  # disguised training, the model unsure (0.31)


def _triage_checks(officer, c: Clue, manual: bool, floor: float, set_by: str, via: str) -> None:
    assert c.needs_triage is manual
    assert c.triage_rule == (TRIAGE if manual else "")
    created = _created(c)
    if manual:
        assert created["triage_rule"] == cited(TRIAGE, floor, set_by)
    else:
        assert "triage_rule" not in created
    if via == "api":
        api = token_client(officer)
        seen = api.get(f"/api/clues/clues/{c.pk}").json()
        assert (seen["needs_triage"], seen["triage_rule"]) == (manual, TRIAGE if manual else "")
        queue = [x["id"] for x in api.get("/api/clues/clues", {"triage": "true"}).json()]
    else:
        page = _page(officer).get(reverse("portal:clue_list"), {"triage": "1"}).content.decode()
        queue = [c.pk] if c.reference in page else []
    assert queue == ([c.pk] if manual else [])


@pytest.mark.parametrize("via", ["api", "page"])
@pytest.mark.parametrize("step", FLOOR_STEPS)
def test_the_citys_confidence_floor_decides_the_manual_queue(officer, institution, step, via):
    confidence = classify(CLEAR).confidence
    floor = round(confidence + FLOOR_STEPS[step], 3)
    city_sets(TRIAGE, floor)
    c = _lead(officer, institution, CLEAR, via)
    assert c.category_confidence == confidence
    # the floor just above the confidence: the case falls short of it, to the manual queue
    _triage_checks(officer, c, step == "above", floor, CITY, via)


@pytest.mark.parametrize("via", ["api", "page"])
@pytest.mark.parametrize("text", [CLEAR, UNSURE], ids=["clear", "unsure"])
def test_the_national_floor_decides_the_manual_queue(officer, institution, text, via):
    from qinglang.core.policy import policy_value

    floor = policy_value(TRIAGE, "")
    c = _lead(officer, institution, text, via)
    assert (c.category_confidence < floor) is (text == UNSURE)
    _triage_checks(officer, c, text == UNSURE, floor, "national", via)


# --- clue.dedupe_window_days --------------------------------------------------------------

WINDOWS = {"national": 30, "city": 7}
APART = {"inside": -1, "at": 0, "beyond": 1}  # days from the window
REFUND = "孩子在这学画画，交了六千的课时费，想退剩下的钱一直不给退"


@pytest.mark.parametrize("via", ["api", "page"])
@pytest.mark.parametrize("step", APART)
@pytest.mark.parametrize("where", WINDOWS)
def test_a_merge_beyond_the_window_is_flagged_citing_the_rule(officer, institution, where, step, via):
    days, set_by = in_force(WINDOW, where, WINDOWS)
    first = _lead(officer, institution, REFUND, via)
    second = _lead(officer, institution, FIRE, via)  # another problem: a case of its own
    assert first.pk != second.pk
    apart = timedelta(days=days + APART[step])
    Clue.objects.filter(pk=second.pk).update(received_at=first.received_at - apart)
    reason = "核实为同一问题"
    if via == "api":
        api = token_client(officer)
        suggested = [d["clue"]["id"] for d in api.get(f"/api/clues/clues/{second.pk}/duplicates").json()]
        assert suggested == ([] if step == "beyond" else [first.pk])
        r = post_json(api, f"/api/clues/clues/{second.pk}/merge", {"into_id": first.pk, "reason": reason})
        assert r.status_code == 200, r.content
        assert r.json()["id"] == first.pk and r.json()["report_count"] == 2
    else:
        r = _page(officer).post(
            reverse("portal:clue_detail", args=[second.pk]),
            {"op": "merge", "into_id": first.pk, "reason": reason},
        )
        assert r.status_code == 302 and r.url == reverse("portal:clue_detail", args=[first.pk])
    assert Clue.objects.get(pk=second.pk).status == ClueStatus.MERGED
    merged = AuditEvent.objects.get(action="clue.merge", object_id=str(first.pk)).changes
    assert merged["merged"] == second.pk and merged["reason"] == reason
    if step != "beyond":
        assert "beyond_window" not in merged
        return
    assert merged["beyond_window"] == {**cited(WINDOW, days, set_by), "days_apart": days + 1}
