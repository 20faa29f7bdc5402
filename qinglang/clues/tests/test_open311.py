"""Open311 GeoReport v2 conformance of the implemented endpoints: field names, formats
(JSON and XML), error responses as the specification gives them."""

from xml.etree import ElementTree as ET

import pytest
from django.test import Client

from qinglang.accounts.services import api_token_create
from qinglang.clues.models import ClueCategory
from qinglang.testing import TOWNSHIP, make_user

pytestmark = pytest.mark.django_db
BASE = "/api/clues/open311/v2"
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}


@pytest.fixture
def key(county, admin):
    return api_token_create(actor=admin, user=make_user("parent"), name="civic app")[1]


def _xml(r):
    assert r["Content-Type"].startswith("text/xml")
    assert r.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(r.content)


def test_service_list_json_and_xml(db):
    r = Client().get(f"{BASE}/services.json")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/json")
    services = r.json()
    assert [s["service_code"] for s in services] == ClueCategory.values
    for s in services:
        assert set(s) == SERVICE_FIELDS and s["metadata"] is True and s["type"] == "realtime"
    root = _xml(Client().get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    first = root.find("service")
    assert {c.tag for c in first} == SERVICE_FIELDS and first.findtext("metadata") == "true"


def test_service_definition(db):
    d = Client().get(f"{BASE}/services/fire_safety.json").json()
    assert d["service_code"] == "fire_safety"
    a = d["attributes"][0]
    assert set(a) == {
        "variable",
        "code",
        "datatype",
        "required",
        "datatype_description",
        "order",
        "description",
    }
    root = _xml(Client().get(f"{BASE}/services/fire_safety.xml"))
    assert (
        root.tag == "service_definition" and root.find("attributes/attribute/code").text == "institution_name"
    )
    assert Client().get(f"{BASE}/services/nope.json").status_code == 404


def test_jurisdiction_not_found(db):
    r = Client().get(f"{BASE}/services.json", {"jurisdiction_id": "atlantis"})
    assert r.status_code == 404 and r.json() == [
        {"code": 404, "description": "jurisdiction_id provided was not found"}
    ]


def test_post_get_request_and_token(county, key):
    c = Client()
    r = c.post(
        f"{BASE}/requests.json",
        {
            "api_key": key,
            "service_code": "refund_difficulty",
            "description": "培训机构拒绝退费两个月",
            "jurisdiction_id": TOWNSHIP,
            "first_name": "明",
            "last_name": "王",
            "phone": "13812345678",
            "lat": "30.64",
            "long": "104.04",
        },
    )
    assert r.status_code == 200
    out = r.json()
    assert isinstance(out, list) and set(out[0]) == {
        "service_request_id",
        "service_notice",
        "account_id",
        "token",
    }
    sid, token = out[0]["service_request_id"], out[0]["token"]
    got = c.get(f"{BASE}/requests/{sid}.json", {"api_key": key}).json()
    assert len(got) == 1 and set(got[0]) == REQUEST_FIELDS
    assert got[0]["status"] == "open" and got[0]["service_code"] == "refund_difficulty"
    assert "王" not in str(got) and "13812345678" not in str(got)
    lst = c.get(f"{BASE}/requests.json", {"api_key": key, "status": "open"}).json()
    assert [x["service_request_id"] for x in lst] == [sid]
    assert c.get(f"{BASE}/requests.json", {"api_key": key, "status": "closed"}).json() == []
    root = _xml(c.get(f"{BASE}/requests.xml", {"api_key": key}))
    assert root.tag == "service_requests" and root.find("request/service_request_id").text == sid
    t = c.get(f"{BASE}/tokens/{token}.json", {"api_key": key}).json()
    assert t == [{"service_request_id": sid, "token": token}]
    root = _xml(
        c.post(
            f"{BASE}/requests.xml",
            {
                "api_key": key,
                "service_code": "price",
                "description": "一次性收取一年学费",
                "division_code": TOWNSHIP,
            },
        )
    )
    assert root.tag == "service_requests" and root.find("request/service_request_id") is not None


@pytest.mark.parametrize(
    ("data", "status", "text"),
    [
        ({"api_key": "qlt_wrong"}, 403, "Invalid api_key"),
        ({}, 401, "api_key was not provided"),
        ({"api_key": "K", "division_code": TOWNSHIP}, 400, "service_code was not provided"),
        (
            {
                "api_key": "K",
                "service_code": "potholes",
                "division_code": TOWNSHIP,
                "description": "abcdefgh",
            },
            400,
            "service_code not found",
        ),
        ({"api_key": "K", "service_code": "price"}, 400, "jurisdiction_id was not provided"),
        (
            {"api_key": "K", "service_code": "price", "jurisdiction_id": "atlantis"},
            404,
            "jurisdiction_id provided was not found",
        ),
        (
            {"api_key": "K", "service_code": "price", "division_code": TOWNSHIP, "description": ""},
            400,
            "content",
        ),
    ],
)
def test_post_errors_json_and_xml(county, key, data, status, text):
    data = {k: (key if v == "K" else v) for k, v in data.items()}
    r = Client().post(f"{BASE}/requests.json", data)
    assert r.status_code == status
    body = r.json()
    assert isinstance(body, list) and set(body[0]) == {"code", "description"} and body[0]["code"] == status
    assert text in body[0]["description"]
    root = _xml(Client().post(f"{BASE}/requests.xml", data))
    assert root.tag == "errors" and root.find("error/code").text == str(status)


def test_get_request_not_found_and_not_others(county, key, admin):
    other = api_token_create(actor=admin, user=make_user("parent"), name="other app")[1]
    c = Client()
    sid = c.post(
        f"{BASE}/requests.json",
        {"api_key": key, "service_code": "price", "description": "收费超过三个月", "division_code": TOWNSHIP},
    ).json()[0]["service_request_id"]
    r = c.get(f"{BASE}/requests/{sid}.json", {"api_key": other})
    assert r.status_code == 404 and r.json()[0]["description"] == "service_request_id provided was not found"
    assert c.get(f"{BASE}/requests/{sid}.json").status_code == 401


def test_rate_limited_per_key(county, key):
    from qinglang.clues.services.intake import RATE_LIMITS

    limit = RATE_LIMITS["open311"][0]
    c = Client()
    codes = [
        c.post(
            f"{BASE}/requests.json",
            {
                "api_key": key,
                "service_code": "other",
                "description": f"第{i}条测试举报内容",
                "division_code": TOWNSHIP,
            },
        ).status_code
        for i in range(limit + 2)
    ]
    assert codes[:limit] == [200] * limit and codes[-1] == 429


def test_a_report_carries_its_service_request_id_found_in_api_console_and_csv(key, institution, officer):
    """The Open311 request id is the report's source reference (来源编号): the case is found
    by it in the clue API, the console search and the CSV export, so a county can reconcile
    each clue with the system that sent it. A second report joining the case shares it."""
    import csv
    import io

    from qinglang.clues.models import ClueReport

    c = Client()
    text = "星辰艺术培训中心拒绝退还剩余学费八千元，已经拖了两个月"

    def post():
        fields = {"service_code": "refund_difficulty", "description": text, "division_code": TOWNSHIP}
        r = c.post(
            f"{BASE}/requests.json",
            {"api_key": key, **fields, "attribute[institution_name]": "星辰艺术培训中心"},
        )
        assert r.status_code == 200
        return r.json()[0]

    first = post()
    sid = first["service_request_id"]
    report = ClueReport.objects.get(open311_token=first["token"])
    assert report.source_ref == sid == str(report.clue_id)
    assert post()["service_request_id"] == sid  # the same problem again: it joined the case
    refs = ClueReport.objects.filter(clue_id=report.clue_id).values_list("source_ref", flat=True)
    assert list(refs) == [sid, sid]
    case = report.clue

    web = Client()
    web.force_login(officer)
    found = web.get("/api/clues/clues", {"q": sid}).json()
    assert case.pk in [x["id"] for x in found]
    assert next(x for x in found if x["id"] == case.pk)["source_refs"] == [sid]
    assert web.get("/api/clues/clues", {"q": "GD-no-such-order"}).json() == []
    assert web.get(f"/api/clues/clues/{case.pk}").json()["source_refs"] == [sid]

    page = web.get("/console/clues/", {"q": sid}).content.decode()
    assert case.reference in page and f'<td class="small">{sid}</td>' in page

    export = web.get("/console/clues/", {"q": sid, "export": "csv"}).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(export)))
    assert {r["编号"]: r["来源编号"] for r in rows}[case.reference] == sid


def test_the_backfill_gives_old_reports_the_id_their_client_was_sent(key, institution):
    """Reports filed before Open311 reports carried a source reference get the
    service_request_id their client was sent: the case their intake event names, even if a
    merge moved the report since; without such an event, their case's id. Other channels'
    references are left alone."""
    from importlib import import_module

    from django.apps import apps as django_apps
    from django.utils import timezone

    from qinglang.clues.models import ClueReport

    c = Client()

    def post(text):
        fields = {"service_code": "refund_difficulty", "description": text, "division_code": TOWNSHIP}
        r = c.post(
            f"{BASE}/requests.json",
            {"api_key": key, **fields, "attribute[institution_name]": "星辰艺术培训中心"},
        )
        assert r.status_code == 200
        return ClueReport.objects.get(open311_token=r.json()[0]["token"])

    moved = post("星辰艺术培训中心拒绝退还剩余学费八千元，已经拖了两个月")
    stays = post("星辰艺术培训中心教室里没有灭火器，消防通道堆满了桌椅")
    assert moved.clue_id != stays.clue_id
    sent_moved, sent_stays = str(moved.clue_id), str(stays.clue_id)
    no_event = ClueReport.objects.create(
        clue_id=stays.clue_id,
        channel="open311",
        tracking_code="BACKFILL0001",
        content="没有留下受理记录的旧举报",
        division_code=TOWNSHIP,
        received_at=timezone.now(),
    )
    hotline = ClueReport.objects.create(
        clue_id=stays.clue_id,
        channel="hotline",
        source_ref="GD2026120300099",
        tracking_code="BACKFILL0002",
        content="热线工单",
        division_code=TOWNSHIP,
        received_at=timezone.now(),
    )
    # as before the migration: no Open311 reference, and the first report merged into the other case
    ClueReport.objects.filter(channel="open311").update(source_ref="")
    ClueReport.objects.filter(pk=moved.pk).update(clue_id=stays.clue_id)

    import_module("qinglang.clues.migrations.0008_open311_source_ref").backfill(django_apps, None)

    refs = dict(ClueReport.objects.values_list("pk", "source_ref"))
    assert refs[moved.pk] == sent_moved  # the case its client was told, not the one it sits in now
    assert refs[stays.pk] == sent_stays
    assert refs[no_event.pk] == sent_stays  # no intake event: its case
    assert refs[hotline.pk] == "GD2026120300099"


def test_a_source_reference_is_found_whole_not_in_part(key, institution, officer):
    """The console and API find a case by its whole source reference, typed in any case;
    a fragment of a work-order number finds nothing (names still match in part)."""
    from qinglang.clues import selectors
    from qinglang.clues.models import ClueReport

    fields = {"service_code": "refund_difficulty", "division_code": TOWNSHIP}
    r = Client().post(
        f"{BASE}/requests.json",
        {
            "api_key": key,
            **fields,
            "description": "星辰艺术培训中心拒绝退还剩余学费八千元",
            "attribute[institution_name]": "星辰艺术培训中心",
        },
    )
    case_id = ClueReport.objects.get(open311_token=r.json()[0]["token"]).clue_id
    ClueReport.objects.filter(clue_id=case_id).update(source_ref="GD2026120300017")
    for q in ("GD2026120300017", "gd2026120300017", " GD2026120300017 "):
        assert [x.pk for x in selectors.clue_list(actor=officer, q=q)] == [case_id], q
    assert list(selectors.clue_list(actor=officer, q="2026120300")) == []
    assert [x.pk for x in selectors.clue_list(actor=officer, q="星辰艺术")] == [case_id]
