"""吹哨报到: a whistle the township raises gives the named departments
``whistle.report_hours`` to report — 24 nationally, 成都市's own figure where the city
sets one. Raised through the API (on a token) and the whistle board's page, the deadline
is exactly that many hours after raising, and the raise's record cites the rule. A report
made before the hours are up is on time; once they have run out (at the limit) or later
(beyond it) the report is late: flagged on its record with the key, the value, the
division that set it and the basis, and listed as 迟报 on the board, which states the
rule in the same words."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.urls import reverse

from qinglang.accounts.permissions import system
from qinglang.clues.models import Whistle
from qinglang.core.models import AuditEvent
from qinglang.core.services import department_ensure_for_division
from qinglang.testing import DEMO_COUNTY, TOWNSHIP

from .rule_checks import assert_cites, cited, in_force, post_json, token_client

pytestmark = pytest.mark.django_db
HOURS = "whistle.report_hours"
FIGURES = {"national": 24, "city": 6}  # 成都市's own figure
# how long after raising the department reports: a minute before the hours are up, the
# moment they have run out, an hour after
STEPS = {"inside": timedelta(minutes=-1), "at": timedelta(0), "beyond": timedelta(hours=1)}


@pytest.fixture
def township(db):
    for code in (DEMO_COUNTY, TOWNSHIP):
        department_ensure_for_division(actor=system("test"), division_code=code)
    return TOWNSHIP


def _raise(officer, via: str) -> Whistle:
    body = {
        "division_code": TOWNSHIP,
        "title": "无证培训点",
        "problem": "居民楼内无证办学，需多部门联合处置",
        "department_kinds": ["education", "fire"],
    }
    if via == "api":
        r = post_json(token_client(officer), "/api/clues/whistles", body)
        assert r.status_code == 201, r.content
        return Whistle.objects.get(pk=r.json()["id"])
    client = _page(officer)
    r = client.post(reverse("portal:whistle_board"), body)
    assert r.status_code == 302, r.content.decode()[:2000]
    return Whistle.objects.get(title=body["title"])


def _page(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def _report(officer, w: Whistle, via: str) -> None:
    body = {"department_kind": "education", "action": "已派员到场核查"}
    if via == "api":
        r = post_json(token_client(officer), f"/api/clues/whistles/{w.pk}/report", body)
        assert r.status_code == 200, r.content
        (edu,) = [d for d in r.json()["departments"] if d["department_kind"] == "education"]
        assert edu["reported_at"] and edu["action"] == body["action"]
    else:
        r = _page(officer).post(reverse("portal:whistle_report", args=[w.pk]), body)
        assert r.status_code == 302
        assert w.departments.get(department_kind="education").reported_at


@pytest.mark.parametrize("via", ["api", "page"])
@pytest.mark.parametrize("where", FIGURES)
def test_the_whistle_deadline_is_its_hours_after_raising(township, officer, where, via):
    hours, set_by = in_force(HOURS, where, FIGURES)
    w = _raise(officer, via)
    assert w.due_at - w.raised_at == timedelta(hours=hours)
    raised = AuditEvent.objects.get(action="whistle.raise", object_id=str(w.pk)).changes
    assert {k: raised[k] for k in ("rule", "value", "set_by", "basis")} == cited(HOURS, hours, set_by)
    assert raised["hours"] == hours
    if via == "api":
        (listed,) = token_client(officer).get("/api/clues/whistles").json()
        assert listed["id"] == w.pk and listed["due_at"] and listed["status"] == "open"


@pytest.mark.parametrize("via", ["api", "page"])
@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("where", FIGURES)
def test_a_report_is_late_only_once_the_hours_are_up(township, officer, where, step, via):
    hours, set_by = in_force(HOURS, where, FIGURES)
    w = _raise(officer, via)
    # the whistle was raised that long ago: the report comes now
    ago = timedelta(hours=hours) + STEPS[step]
    Whistle.objects.filter(pk=w.pk).update(raised_at=F("raised_at") - ago, due_at=F("due_at") - ago)
    _report(officer, w, via)
    flag = AuditEvent.objects.filter(action="whistle.report", object_id=str(w.pk)).get().changes
    board = _page(officer).get(reverse("portal:whistle_board")).content.decode()
    late_table = board.split("data-late", 1)[1].split("</table>", 1)[0]
    if step == "inside":
        assert flag == {"department": "education", "late": False}
        assert "迟报" not in late_table
        return
    assert flag["late"] is True and flag["department"] == "education"
    assert {k: flag[k] for k in ("rule", "value", "set_by", "basis")} == cited(HOURS, hours, set_by)
    assert flag["hours"] == hours
    assert "迟报" in late_table and "无证培训点" in late_table
    assert_cites(late_table, HOURS, hours, set_by)  # the board states the rule it passed
