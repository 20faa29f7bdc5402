"""Escalation and whistle lateness reach the right people's inboxes — and only them —
once, however often the (catch-up) job runs; the inbox page, the nav count, marking read
and the API."""

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from qinglang.accounts.models import Notification
from qinglang.accounts.notifications import notification_mark_read, notify, unread_count
from qinglang.clues import services
from qinglang.clues.models import Clue, Whistle
from qinglang.core.errors import NotFound
from qinglang.core.models import AuditEvent
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, TOWNSHIP, make_user

from .conftest import education_and_fire_whistle

pytestmark = pytest.mark.django_db


def _inbox(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


@pytest.fixture
def people(county):
    """Who could be notified, and who must not be."""
    return {
        "edu_leader": make_user("regulator_leader", department_kind="education"),
        "market_leader": make_user("regulator_leader", department_kind="market_regulation"),
        "task_force": make_user("regulator_leader"),  # the county's leadership, no department
        "edu_officer": make_user("regulator_officer", department_kind="education"),
        "fire_officer": make_user("regulator_officer", department_kind="fire"),
        "other_edu_leader": make_user(
            "regulator_leader", prefixes=[OTHER_COUNTY], department_kind="education"
        ),
        "other_task_force": make_user("regulator_leader", prefixes=[OTHER_COUNTY]),
        "city_leader": make_user("regulator_leader", prefixes=[DEMO_COUNTY[:4]]),
        "inspector": make_user("inspector", department_kind="education"),
    }


def _overdue_refund_clue(officer, institution) -> Clue:
    c = services.clue_lead_create(
        actor=officer,
        submission=services.Submission(
            channel="covert_visit", content="机构拒绝退费", division_code=TOWNSHIP, uscc=institution.uscc
        ),
    ).clue
    assert c.routed_kind_list == ["education", "market_regulation"]  # education leads
    Clue.objects.filter(pk=c.pk).update(acknowledge_due=date(2026, 3, 2), resolve_due=date(2026, 3, 20))
    return c


def test_escalation_notifies_lead_department_then_task_force_once(officer, institution, people):
    c = _overdue_refund_clue(officer, institution)
    services.clue_escalate_overdue(today=date(2026, 3, 3))
    got = {k for k, u in people.items() if _inbox(u)}
    assert got == {"edu_leader"}
    n = Notification.objects.get(recipient=people["edu_leader"])
    assert (
        n.kind == "clue.escalation.leader" and c.reference in n.title and n.link == f"/console/clues/{c.pk}/"
    )
    assert AuditEvent.objects.filter(action="notification.send", object_id=str(c.pk)).count() == 1
    # the job runs again (hourly, or after a restart): nothing new
    services.clue_escalate_overdue(today=date(2026, 3, 3))
    services.clue_escalate_overdue(today=date(2026, 3, 4))
    assert Notification.objects.count() == 1
    # five working days past the resolve limit: the task force, only
    services.clue_escalate_overdue(today=date(2026, 4, 1))
    got = {k: _inbox(u) for k, u in people.items() if _inbox(u)}
    assert got == {"edu_leader": ["clue.escalation.leader"], "task_force": ["clue.escalation.task_force"]}
    services.clue_escalate_overdue(today=date(2026, 4, 20))
    assert Notification.objects.count() == 2


def test_catch_up_straight_to_level_two_tells_both_once(officer, institution, people):
    _overdue_refund_clue(officer, institution)
    # the worker was down for weeks: the first run reaches level 2 directly
    assert services.clue_escalate_overdue(today=date(2026, 4, 20)) == {"leader": 0, "task_force": 1}
    got = {k: _inbox(u) for k, u in people.items() if _inbox(u)}
    assert got == {"edu_leader": ["clue.escalation.task_force"], "task_force": ["clue.escalation.task_force"]}
    services.clue_escalate_overdue(today=date(2026, 4, 21))
    assert Notification.objects.count() == 2


def test_late_whistle_departments_notified_once(officer, people):
    w = education_and_fire_whistle(officer)
    assert services.whistle_notify_late() == 0  # not late yet
    services.whistle_report(actor=officer, whistle_id=w.pk, department_kind="education", action="已派员到场")
    Whistle.objects.filter(pk=w.pk).update(due_at=timezone.now() - timedelta(hours=1))
    assert services.whistle_notify_late() == 1
    got = {k: _inbox(u) for k, u in people.items() if _inbox(u)}
    assert got == {"fire_officer": ["whistle.late"]}  # education reported in time
    assert services.whistle_notify_late() == 0 and services.whistle_notify_late() == 0
    assert Notification.objects.count() == 1


def test_mark_read_is_own_only_and_audited(county):
    a, b = make_user("regulator_officer"), make_user("regulator_officer")
    na = notify([a, a.pk], kind="test", title="给A的通知")
    nb = notify([b], kind="test", title="给B的通知")
    assert len(na) == 1 and unread_count(a) == 1
    with pytest.raises(NotFound):
        notification_mark_read(actor=a, ids=[nb[0].pk])
    assert Notification.objects.get(pk=nb[0].pk).read_at is None
    assert notification_mark_read(actor=a, ids=[na[0].pk]) == 1
    assert unread_count(a) == 0 and unread_count(b) == 1
    assert notification_mark_read(actor=a) == 0  # nothing left: no audit event
    assert AuditEvent.objects.filter(action="notification.read").count() == 1


def test_inbox_page_nav_count_and_api(county):
    a, b = make_user("regulator_officer"), make_user("regulator_officer")
    mine = notify([a], kind="test", title="线索督办提醒ALPHA", link="/console/clues/")[0]
    other = notify([b], kind="test", title="别人的通知ZETA")[0]
    c = Client()
    c.force_login(a)
    page = c.get("/inbox/").content.decode()
    assert "线索督办提醒ALPHA" in page and "别人的通知ZETA" not in page
    assert 'id="ql-unread">1<' in c.get("/console/clues/").content.decode()  # the nav shows the count
    assert c.post(f"/inbox/{other.pk}/read/").status_code == 404
    r = c.post(f"/inbox/{mine.pk}/read/")
    assert r.status_code == 302 and r["Location"] == "/console/clues/"
    assert 'id="ql-unread"' not in c.get("/inbox/").content.decode()
    api = c.get("/api/notifications?unread=false").json()
    assert [n["title"] for n in api["items"]] == ["线索督办提醒ALPHA"] and api["unread"] == 0
    assert api["items"][0]["read_at"] is not None
    notify([a], kind="test", title="第二条")
    assert (
        c.post("/api/notifications/read", {"ids": [other.pk]}, content_type="application/json").status_code
        == 404
    )
    assert c.post(f"/api/notifications/{other.pk}/read").status_code == 404
    assert c.post("/api/notifications/read", {"ids": []}, content_type="application/json").status_code == 422
    second = Notification.objects.get(recipient=a, title="第二条")
    r = c.post("/api/notifications/read", {"ids": [second.pk]}, content_type="application/json")
    assert r.status_code == 200 and r.json() == {"marked": 1, "unread": 0}
    assert c.post(f"/api/notifications/{second.pk}/read").json() == {"marked": 0, "unread": 0}
    assert Notification.objects.get(pk=other.pk).read_at is None
    assert Client().get("/api/notifications").status_code == 401
    # a page out of range is refused as bad input, never a server error
    for query in ("offset=-1", "offset=99999999999999999999", "limit=0", "limit=201"):
        r = c.get(f"/api/notifications?{query}")
        assert r.status_code == 422 and r.json()["code"], query
    assert Client().get("/inbox/").status_code == 302
