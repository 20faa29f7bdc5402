"""Reporters of one case never see each other.

Four reports are merged into one case: two parents (parent end), a member of the public
(web form) and an integrator (Open311 key). Every GET route of the project — pages and
API, discovered as the authorization sweep discovers them, path parameters filled with
the case, its institution and its reports — is fetched by every role, the reporters of
that case included. Each response is searched for what that role must not see:

* a reporter: the other reporters' names, phones, *their masked forms* (``欧**``,
  ``139****4321``), and the text of the other reports (the case summary is one of them);
* the institution complained about, banks, other parents, the
  anonymous public: every reporter's name, phone and masked forms;
* a regulator (leader, officer, inspector, grid worker): names and phones in clear (the handling view shows masked forms; the clear
  text only through the audited reveal).
"""

import pytest
from django.test import Client

from qinglang.accounts.models import Role
from qinglang.accounts.services import api_token_create
from qinglang.core.validators import mask_name, mask_phone
from qinglang.portal.tests.test_authorization import PARAM_RE, ROUTES, body_text
from qinglang.testing import DEMO_COUNTY, TOWNSHIP, built_once, make_institution, make_user

pytestmark = pytest.mark.django_db

# rare surnames, so that a masked form (first character and stars) is unambiguous
REPORTERS = {
    "parent_one": ("蔺晓岚", "13981110001", "蔺家长：机构停课后拒绝退费，交的学费一直不退，电话也不接QX1"),
    "parent_two": (
        "鞠雨辰",
        "13982220002",
        "鞠家长：机构停课后拒绝退费，交的学费一直不退，电话也不接，已经两个月QX2",
    ),
    "public": ("谯明远", "13983330003", "谯先生：机构停课后拒绝退费，交的学费一直不退，电话也不接QX3"),
    "integrator": ("亓慧敏", "13984440004", "亓女士：机构停课后拒绝退费，交的学费一直不退，电话也不接了QX4"),
}


def _needles(persona: str, kind: str) -> list[str]:
    out = []
    for who, (name, phone, content) in REPORTERS.items():
        if who == persona:
            continue
        out += [name, phone, phone[:7]]
        if kind != "regulator":
            out += [mask_name(name), mask_phone(phone)]
        if kind == "reporter":
            # each report's own tag with the character before it: a bare three-letter tag
            # also turns up by chance in the page's random CSRF token
            out.append(content[-4:])
    return out


@pytest.fixture(scope="module")
def case(django_db_setup, django_db_blocker):
    """Built once per module (and worker); each test runs in its own savepoint within it,
    so what one test writes is gone before the next."""
    yield from built_once(django_db_blocker, _build_case)


def _build_case() -> dict:
    from qinglang.clues import services
    from qinglang.core.services import department_ensure_for_division

    admin = make_user(Role.PLATFORM_ADMIN)
    for code in (DEMO_COUNTY, TOWNSHIP):
        department_ensure_for_division(actor=admin, division_code=code)
    inst = make_institution(admin, name="蓝鲸美术培训中心", address="浆洗街99号", kind="arts")
    users = {
        "parent_one": make_user(Role.PARENT),
        "parent_two": make_user(Role.PARENT),
        "integrator": make_user(Role.PARENT),  # the account behind an Open311 key (a civic app)
    }
    _, key = api_token_create(actor=admin, user=users["integrator"], name="open311")
    reports = {}
    for who, (name, phone, content) in REPORTERS.items():
        channel = {"public": "web", "integrator": "open311"}.get(who, "parent")
        actor = users.get(who)
        reports[who] = services.clue_report_submit(
            actor=actor,
            submission=services.Submission(
                channel=channel,
                content=content,
                division_code=TOWNSHIP,
                institution_name=inst.name,
                uscc=inst.uscc,
                reporter_name=name,
                reporter_phone=phone,
            ),
        )
    clue = reports["parent_one"].clue
    assert {r.clue_id for r in reports.values()} == {clue.pk}, "the four reports are one case"
    services.clue_accept(actor=admin, clue_id=clue.pk)
    return {"admin": admin, "inst": inst, "clue": clue, "reports": reports, "users": users, "key": key}


# every role, with what it is to the case and how its user is made: (kind, factory)
PERSONAS = {
    "parent_one": ("reporter", lambda case: case["users"]["parent_one"]),
    "parent_two": ("reporter", lambda case: case["users"]["parent_two"]),
    "integrator": ("reporter", lambda case: case["users"]["integrator"]),
    "other_parent": ("outsider", lambda case: make_user(Role.PARENT)),
    "anonymous": ("outsider", lambda case: None),
    "institution_admin": (
        "outsider",
        lambda case: make_user(Role.INSTITUTION_ADMIN, institution_id=case["inst"].pk),
    ),
    "institution_staff": (
        "outsider",
        lambda case: make_user(Role.INSTITUTION_STAFF, institution_id=case["inst"].pk),
    ),
    "bank_operator": ("outsider", lambda case: make_user(Role.BANK_OPERATOR, bank_id=1)),
    "inspector": ("regulator", lambda case: make_user(Role.INSPECTOR)),
    "grid_worker": ("regulator", lambda case: make_user(Role.GRID_WORKER, prefixes=[TOWNSHIP])),
    "officer": ("regulator", lambda case: make_user(Role.REGULATOR_OFFICER)),
    "leader": ("regulator", lambda case: make_user(Role.REGULATOR_LEADER)),
}


def _urls(case) -> list[str]:
    clue, inst = case["clue"], case["inst"]
    values = {
        "clue_id": clue.pk,
        "service_request_id": clue.pk,
        "institution_id": inst.pk,
        "inst_id": inst.pk,
        "org_id": inst.pk,
        "code": DEMO_COUNTY,
        "division_code": DEMO_COUNTY,
    }
    urls = []
    for r in ROUTES:
        if "get" not in r.methods or r.route in ("api/openapi.json", "api/docs"):
            continue
        names = [m.group("name") for m in PARAM_RE.finditer(r.route)]
        if names == ["pk"] and r.route.startswith(("org/", "console/institutions/")):
            values_here = {"pk": inst.pk}
        elif names == ["pk"] and "clues" in r.route:
            values_here = {"pk": clue.pk}
        else:
            values_here = values
        if all(n in values_here for n in names):
            urls.append("/" + PARAM_RE.sub(lambda m, v=values_here: str(v[m.group("name")]), r.route))
    for rep in case["reports"].values():
        urls.append(f"/clues/track/?code={rep.tracking_code}")
    urls += ["/console/clues/?export=csv", "/console/clues/?format=csv", "/console/clues/?export=xlsx"]
    return urls


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_no_reporter_sees_another(case, persona):
    """One test per role (so that parallel workers share the roles out), each fetching
    every URL."""
    urls = _urls(case)
    assert any(u.startswith(f"/api/clues/clues/{case['clue'].pk}") for u in urls)
    own_tracking = {who: f"/clues/track/?code={r.tracking_code}" for who, r in case["reports"].items()}
    failures, responses = [], 0
    kind, make = PERSONAS[persona]
    user = make(case)
    i = list(PERSONAS).index(persona)
    c = Client(REMOTE_ADDR=f"10.9.0.{i + 1}")  # tracking lookups are rate limited per source
    if user is not None:
        c.force_login(user)
    needles = _needles(persona, kind)
    for url in urls:
        if url.startswith("/clues/track/") and kind == "reporter" and url != own_tracking.get(persona):
            continue  # another reporter's secret code is not something this reporter holds
        r = c.get(url)
        responses += 1
        if r.status_code >= 500:
            failures.append(f"{persona} GET {url} → {r.status_code}")
        text = body_text(r)
        shown = [n for n in needles if n in text]
        if shown:
            failures.append(f"{persona} GET {url} → {r.status_code} shows {shown}")
    if persona == "integrator":  # the Open311 key, as an integrator calls it
        for url in (
            f"/api/clues/open311/v2/requests.json?api_key={case['key']}",
            f"/api/clues/open311/v2/requests/{case['clue'].pk}.json?api_key={case['key']}",
        ):
            r = Client().get(url)
            responses += 1
            shown = [n for n in needles if n in body_text(r)]
            if shown:
                failures.append(f"integrator key GET {url} shows {shown}")
    assert not failures, "\n".join(failures)
    assert responses > 40


def test_a_reporter_sees_their_own_report_progress_and_result(case):
    from qinglang.clues import services

    admin, clue = case["admin"], case["clue"]
    services.clue_conclude(actor=admin, clue_id=clue.pk, finding="查实", substantiated=True)
    services.clue_feedback(actor=admin, clue_id=clue.pk, feedback="已责令退费QXF")
    c = Client()
    c.force_login(case["users"]["parent_two"])
    r = c.get("/api/clues/my-reports")
    assert r.status_code == 200
    [mine] = r.json()
    assert mine["content"] == REPORTERS["parent_two"][2]
    assert mine["tracking_code"] == case["reports"]["parent_two"].tracking_code
    assert mine["closed"] and mine["feedback"] == "已责令退费QXF"
    assert mine["steps"][0]["stage"] == "已收到" and len(mine["steps"]) >= 3
    # the case itself is a regulator's view: not found for a reporter, as on the page
    assert c.get(f"/api/clues/clues/{clue.pk}").status_code == 404
    assert c.get("/api/clues/clues").json() == []
    page = c.get("/parent/clues/").content.decode()
    assert mine["tracking_code"] in page and REPORTERS["parent_one"][2][-3:] not in page
    # the handler still reads the case, reporters masked
    officer = Client()
    officer.force_login(make_user(Role.REGULATOR_LEADER))
    d = officer.get(f"/api/clues/clues/{clue.pk}").json()
    assert len(d["reports"]) == 4 and mask_phone(REPORTERS["public"][1]) in {x["phone"] for x in d["reports"]}
