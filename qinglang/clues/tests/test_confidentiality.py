"""Confidentiality: no response to any other role, no export, no public page ever contains
a reporter's name or phone; the handling role sees them on request, audited."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from qinglang.accounts.services import api_token_create
from qinglang.clues import services
from qinglang.core.models import AuditEvent
from qinglang.testing import TOWNSHIP, make_user

pytestmark = pytest.mark.django_db
NAME, PHONE = "欧阳娜娜", "13987654321"


def _needles():
    return [NAME, PHONE, PHONE[-4:] + "", "欧阳", PHONE[:7]]


def test_no_response_shows_reporter_except_audited_reveal(county, admin, institution):
    rep = services.clue_report_submit(
        actor=None,
        submission=services.Submission(
            channel="web",
            content="星辰艺术培训中心拒绝退费，已经两个月",
            division_code=TOWNSHIP,
            institution_name=institution.name,
            reporter_name=NAME,
            reporter_phone=PHONE,
        ),
    )
    clue = rep.clue
    services.clue_accept(actor=admin, clue_id=clue.pk)
    services.clue_conclude(actor=admin, clue_id=clue.pk, finding="查实，已督促退费", substantiated=True)
    services.clue_feedback(actor=admin, clue_id=clue.pk, feedback="机构已退费")
    users = {
        "anonymous": None,
        "inspector": make_user("inspector"),
        "grid_worker": make_user("grid_worker", prefixes=[TOWNSHIP]),
        "officer_education": make_user("regulator_officer", department_kind="education"),
        "leader": make_user("regulator_leader"),
        "institution_admin": make_user("institution_admin", institution_id=institution.pk),
        "parent": make_user("parent"),
        "platform_admin": admin,
    }
    _, key = api_token_create(actor=admin, user=users["leader"], name="t")
    urls = [
        "/",
        "/clues/report/",
        "/clues/track/",
        f"/clues/track/?code={rep.tracking_code}",
        "/parent/clues/",
        "/grid/report/",
        "/console/clues/",
        "/console/clues/?export=csv",
        "/console/clues/?format=csv",
        f"/console/clues/{clue.pk}/",
        "/console/whistles/",
        "/console/clues/trends/",
        "/console/clues/new/",
        "/console/clues/import/",
        "/api/clues/clues",
        f"/api/clues/clues/{clue.pk}",
        "/api/clues/whistles",
        "/api/clues/open311/v2/requests.json",
        "/api/clues/open311/v2/requests.xml",
        f"/api/clues/open311/v2/requests/{clue.pk}.json",
        f"/api/clues/open311/v2/requests/{clue.pk}.xml",
        f"/org/{institution.pk}/",
        f"/api/registry/institutions/{institution.pk}",
    ]
    checked = 0
    for i, (persona, user) in enumerate(users.items()):
        c = Client(REMOTE_ADDR=f"10.0.0.{i + 1}")  # one source each: tracking lookups are rate limited
        if user:
            c.force_login(user)
        for url in urls:
            r = c.get(url)
            body = r.content.decode("utf-8", "replace")
            for needle in (NAME, PHONE):
                assert needle not in body, f"{persona} GET {url} shows {needle}"
            assert not re.search(r"1398\d{7}", body), f"{persona} GET {url}"
            checked += 1
        r = c.get(f"/api/clues/open311/v2/requests.json?api_key={key}")
        assert NAME not in r.content.decode()
    assert checked == len(users) * len(urls)
    # the handling role sees them on request, and the reading is audited
    leader = Client()
    leader.force_login(users["leader"])
    before = AuditEvent.objects.filter(action="clue.reporter_view").count()
    r = leader.get(f"/console/clues/{clue.pk}/?reveal=1")
    assert NAME in r.content.decode() and PHONE in r.content.decode()
    assert AuditEvent.objects.filter(action="clue.reporter_view").count() == before + 1
    # masked elsewhere for the handler too
    r = leader.get(f"/console/clues/{clue.pk}/")
    assert "欧*" in r.content.decode() or "欧**" in r.content.decode()
    assert "139****4321" in r.content.decode()
    # an inspector (not the handling role) cannot reveal
    insp = Client()
    insp.force_login(users["inspector"])
    assert NAME not in insp.get(f"/console/clues/{clue.pk}/?reveal=1").content.decode()
    # stored encrypted
    from qinglang.clues.models import ClueReport

    row = ClueReport.objects.filter(pk=rep.pk).values().get()
    assert NAME not in str(row) and PHONE not in str(row)
    assert reverse("portal:clue_track")
