"""The pages: the regulator's console pages render and act; the grid worker's phone page
records a visit with photos and geolocation; other people are refused."""

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from qinglang.screening import services
from qinglang.screening.models import PatrolPost, SweepVisit, TextHold
from qinglang.testing import DEMO_COUNTY, TOWNSHIP, make_user

from .conftest import JPEG

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_console_pages_render_and_act(officer, arts, admin):
    from qinglang.registry import services as registry

    registry.course_create(
        actor=admin,
        institution_id=arts.pk,
        data={
            "name": "书法托管",
            "kind": "arts",
            "stage": "primary",
            "lessons": 10,
            "unit_price_fen": 5000,
            "description": "托管同步拔高，讲解数学作业",
        },
    )
    c = login(officer)
    r = c.get("/console/screening/holds/")
    assert r.status_code == 200 and "同步" in r.content.decode()
    hold = TextHold.objects.get()
    r = c.post(f"/console/screening/holds/{hold.pk}/review/", {"decision": "genuine", "note": "核实为书法课"})
    assert r.status_code == 302
    hold.refresh_from_db()
    assert hold.status == "cleared"

    r = c.post("/console/screening/check/", {"text": "暑期Y语S学提前学"})
    assert r.status_code == 200 and "隐形变异" in r.content.decode() and "S学" in r.content.decode()
    r = c.post("/console/screening/check/", {"text": ""})
    assert "请至少提供" in r.content.decode() or "为空" in r.content.decode()

    r = c.post(
        "/console/screening/patrol/",
        {
            "platform": "flyer",
            "text": "小饭桌晚托，老师讲初二数学新课",
            "seen_on": date.today().isoformat(),
            "division_code": TOWNSHIP,
            "operator_name": "阳光小饭桌",
            "screenshot": SimpleUploadedFile("s.jpg", JPEG),
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    p = PatrolPost.objects.get()
    assert p.hit and p.screenshot
    assert "阳光小饭桌" in c.get("/console/screening/patrol/").content.decode()

    r = c.post(
        "/console/screening/sweeps/",
        {
            "name": "冬季摸排",
            "division_code": DEMO_COUNTY,
            "place_types": ["hotel"],
            "starts_on": date.today(),
            "ends_on": date.today() + timedelta(days=7),
        },
    )
    assert r.status_code == 302
    assert "清零看板" in c.get(r["Location"]).content.decode()


def test_grid_worker_records_a_visit_on_the_phone_page(officer):
    grid = make_user("grid_worker", prefixes=[TOWNSHIP])
    s = services.sweep_create(
        actor=officer,
        name="摸排",
        division_code=DEMO_COUNTY,
        place_types=["hotel"],
        starts_on=date.today(),
        ends_on=date.today(),
    )
    c = login(grid)
    assert c.get(f"/grid/sweeps/{s.pk}/").status_code == 200
    r = c.post(
        f"/grid/sweeps/{s.pk}/",
        {"name": "某宾馆", "address": "浆洗街9号", "place_type": "hotel", "division_code": TOWNSHIP},
    )
    assert r.status_code == 302
    place_url = r["Location"]
    r = c.post(
        place_url,
        {
            "outcome": "violation",
            "note": "房间内有学生上数学课",
            "latitude": "30.641234",
            "longitude": "104.043210",
            "photos": [SimpleUploadedFile("a.jpg", JPEG)],
        },
    )
    assert r.status_code == 302
    v = SweepVisit.objects.get()
    assert v.clue_reference and v.photos and float(v.latitude) == pytest.approx(30.641234)
    r = c.post(place_url, {"outcome": "violation", "note": ""})
    assert r.status_code == 200 and "至少5个字" in r.content.decode()
    assert SweepVisit.objects.count() == 1


def test_others_are_refused(county):
    parent = login(make_user("parent"))
    assert parent.get("/console/screening/holds/").status_code == 403
    assert Client().get("/console/screening/patrol/").status_code == 302
