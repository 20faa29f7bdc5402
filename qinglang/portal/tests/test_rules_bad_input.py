"""Bad input to the rules in force, on the pages and through the API: a timetable that ends
before it starts, runs backwards over the term or overlaps the course's own; a vacation
whose start is after its end; an application without a required document or with a file
that is not what its name says. Each is a clear error (Chinese on the page; code, message
and detail on the API) and nothing is written: no row, no audit event, no stored file."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from qinglang.core.models import AuditEvent, PolicyParameter
from qinglang.registry import services as registry
from qinglang.registry.models import Application, ApplicationDocument, CourseSlot
from qinglang.testing import DEMO_COUNTY, make_institution, make_user

from .test_rules_in_force import ESTABLISH

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n% bad input\n"
SLOT = {
    "weekday": 3,
    "starts_at": "18:00",
    "ends_at": "19:00",
    "term_start": "2026-09-07",
    "term_end": "2026-12-31",
}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def _stored(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _written() -> tuple[int, ...]:
    return (
        CourseSlot.objects.count(),
        PolicyParameter.objects.count(),
        Application.objects.count(),
        ApplicationDocument.objects.count(),
        AuditEvent.objects.count(),
    )


def _messages(resp) -> str:
    return " ".join(str(m) for m in resp.context["messages"]) if resp.context else ""


def _api_error(r, status=422) -> dict:
    assert r.status_code == status, r.content
    body = r.json()
    assert set(body) >= {"code", "message", "detail"} and body["message"]
    return body


# --- timetables -------------------------------------------------------------------------


@pytest.fixture
def course_world():
    inst = make_institution(name="武侯课表艺术培训中心")
    course = registry.course_create(
        actor=make_user("platform_admin"),
        institution_id=inst.pk,
        data={"name": "少儿美术", "kind": "arts", "stage": "primary", "lessons": 10, "unit_price_fen": 100},
    )
    org = make_user("institution_admin", institution_id=inst.pk)
    registry.slot_create(actor=org, course_id=course.pk, data=dict(SLOT))
    return inst, course, org


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"starts_at": "19:30", "ends_at": "19:00"}, "结束时间须晚于开始时间"),
        ({"starts_at": "20:00", "ends_at": "20:00"}, "结束时间须晚于开始时间"),
        (
            {"starts_at": "20:00", "ends_at": "21:00", "term_start": "2026-12-31", "term_end": "2026-09-07"},
            "截止日期不能早于起始日期",
        ),
        ({"starts_at": "18:30", "ends_at": "19:30"}, "与本课程已有课表时间重叠"),
    ],
)
def test_a_bad_timetable_is_refused_on_the_page_and_the_api(client, course_world, change, says):
    inst, course, org = course_world
    client.force_login(org)
    before = _written()
    resp = client.post(
        reverse("portal:org_course_slots", args=[inst.pk, course.pk]), {**SLOT, **change}, follow=True
    )
    assert resp.status_code == 200 and says in resp.content.decode()
    assert _written() == before
    r = client.post(
        f"/api/registry/courses/{course.pk}/slots",
        data=json.dumps({**SLOT, **change}),
        content_type="application/json",
    )
    body = _api_error(r)
    assert body["code"] == "invalid" and says in body["message"]
    assert _written() == before


# --- vacations --------------------------------------------------------------------------


def test_a_vacation_ending_before_it_starts_is_refused_on_the_page_and_the_api(client, leader):
    client.force_login(leader)
    before = _written()
    url = reverse("portal:policy") + f"?division={DEMO_COUNTY}"
    html = client.post(
        url, {"key": "calendar.winter_vacation", "value": "02-20, 01-20", "basis": "区教育局校历"}
    ).content.decode()
    assert "假期起始日期 02-20 晚于截止日期 01-20" in html
    assert _written() == before
    r = client.put(
        "/api/accounts/policy/calendar.winter_vacation",
        data=json.dumps({"division_code": DEMO_COUNTY, "value": ["02-20", "01-20"], "basis": "区教育局校历"}),
        content_type="application/json",
    )
    body = _api_error(r)
    assert "晚于截止日期" in body["message"] and "value" in body["detail"]
    assert _written() == before
    assert not PolicyParameter.objects.filter(
        key="calendar.winter_vacation", division_code=DEMO_COUNTY
    ).exists()


# --- applications -----------------------------------------------------------------------


def _docs(**replace) -> dict:
    out = {
        d: SimpleUploadedFile(f"{d}.pdf", PDF + d.encode()) for d in registry.REQUIRED_DOCUMENTS["establish"]
    }
    for d, f in replace.items():
        if f is None:
            out.pop(d)
        else:
            out[d] = f
    return out


FORGED = {"staff_list": SimpleUploadedFile("从业人员名册.pdf", b"MZ\x90\x00 an executable")}


def test_an_application_without_a_required_document_is_refused_on_the_page(client, officer, media_root):
    client.force_login(officer)
    before = _written()
    resp = client.post(reverse("portal:applications"), {**ESTABLISH, **_docs(charter=None)}, follow=True)
    assert "缺少材料：章程" in resp.content.decode()
    assert _written() == before and _stored(media_root) == []


@pytest.mark.parametrize(
    ("docs", "field", "says"),
    [
        (lambda: _docs(charter=None), "documents", "缺少材料：章程"),
        (lambda: _docs(**FORGED), "staff_list", "不是允许的类型"),
    ],
)
def test_a_missing_or_forged_document_is_refused_through_the_api(
    client, officer, media_root, docs, field, says
):
    for f in FORGED.values():
        f.seek(0)
    client.force_login(officer)
    before = _written()
    r = client.post(
        "/api/registry/applications", {"kind": "establish", "data": json.dumps(ESTABLISH), **docs()}
    )
    body = _api_error(r)
    assert says in body["message"] and field in body["detail"]
    assert _written() == before and _stored(media_root) == []
