import json

import pytest

from qinglang.accounts.services import api_token_create
from qinglang.registry.models import Institution
from qinglang.testing import FULL_DISCLOSURE, OTHER_COUNTY, make_institution, valid_uscc


@pytest.fixture
def api(client, officer):
    client.force_login(officer)
    return client


def _post(client, url, payload):
    return client.post(url, data=json.dumps(payload), content_type="application/json")


def test_list_filters_and_cursor_pages(api, officer, admin):
    for i in range(5):
        make_institution(officer, kind="sports" if i % 2 else "arts", licensed=bool(i % 2))
    make_institution(admin, division_code=OTHER_COUNTY)
    r = api.get("/api/registry/institutions", {"limit": 2})
    assert r.status_code == 200
    body = r.json()
    ids = [i["id"] for i in body["items"]]
    while body["next_cursor"]:
        body = api.get("/api/registry/institutions", {"limit": 2, "cursor": body["next_cursor"]}).json()
        ids += [i["id"] for i in body["items"]]
    assert len(ids) == 5 == len(set(ids))  # the other county's institution is not there
    r = api.get("/api/registry/institutions", {"kind": "sports", "licence_status": "fully_licensed"})
    assert {i["kind"] for i in r.json()["items"]} == {"sports"} and len(r.json()["items"]) == 2


def test_text_search_by_name_and_credit_code(api, officer):
    a = make_institution(officer, name="青羊跆拳道馆")
    make_institution(officer, name="玉林书画院")
    assert [i["id"] for i in api.get("/api/registry/institutions", {"q": "跆拳道"}).json()["items"]] == [a.pk]
    assert [
        i["id"] for i in api.get("/api/registry/institutions", {"q": a.uscc.lower()}).json()["items"]
    ] == [a.pk]


def test_errors_are_json_code_message_detail(api, officer):
    r = _post(
        api,
        "/api/registry/institutions",
        {"name": "x", "category": "non_subject", "kind": "arts", "division_code": "510199001"},
    )
    assert r.status_code == 422
    body = r.json()
    assert (
        body["code"] == "invalid"
        and "区划代码不存在" in body["message"]
        and "division_code" in body["detail"]
    )
    r = _post(api, "/api/registry/institutions", {"name": "x"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    r = api.get("/api/registry/institutions", {"cursor": "garbage!"})
    assert r.status_code == 422 and r.json()["code"] == "invalid"
    inst = make_institution(officer)
    _post(api, f"/api/registry/institutions/{inst.pk}/transitions", {"to_status": "closed", "reason": "终止"})
    r = _post(
        api, f"/api/registry/institutions/{inst.pk}/transitions", {"to_status": "active", "reason": "恢复"}
    )
    assert r.status_code == 409 and r.json()["code"] == "illegal_transition"
    r = api.get("/api/registry/institutions/999999")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_create_and_whitelist_via_api(api):
    r = _post(
        api,
        "/api/registry/institutions",
        {
            "name": "武侯区跃动体育",
            "category": "non_subject",
            "kind": "sports",
            "division_code": "510107004",
            "uscc": valid_uscc(777),
        },
    )
    assert r.status_code == 201, r.content
    iid = r.json()["id"]
    for kind in ("school_permit", "business_license"):
        r = api.put(
            f"/api/registry/institutions/{iid}/licences/{kind}",
            data=json.dumps({"number": f"N-{kind}"}),
            content_type="application/json",
        )
        assert r.status_code == 200
    r = _post(api, f"/api/registry/institutions/{iid}/whitelist", {"reason": "证照齐全"})
    assert r.status_code == 422 and r.json()["detail"]["rule"] == "disclosure.required_items"
    assert set(r.json()["detail"]["missing"]) == set(FULL_DISCLOSURE)
    r = api.put(
        f"/api/registry/institutions/{iid}/disclosure",
        data=json.dumps({"items": FULL_DISCLOSURE}),
        content_type="application/json",
    )
    assert r.status_code == 200 and all(b["present"] for b in r.json())
    r = _post(api, f"/api/registry/institutions/{iid}/whitelist", {"reason": "证照齐全"})
    assert r.status_code == 200 and r.json()["whitelisted"] is True
    assert Institution.objects.get(pk=iid).whitelisted


def test_token_auth_and_unauthenticated(client, officer):
    _, plain = api_token_create(actor=officer, user=officer, name="机构系统对接")
    r = client.get("/api/registry/institutions", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert r.status_code == 200
    r = client.get("/api/registry/institutions")
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"


def test_public_whitelist_needs_no_login_and_hides_others(client, officer):
    w = make_institution(officer, whitelisted=True, name="白名单少儿美术")
    make_institution(officer, name="未入白名单美术")
    r = client.get("/api/public/whitelist", {"q": "美术"})
    assert r.status_code == 200
    assert [i["id"] for i in r.json()["items"]] == [w.pk]
    assert "contact_phone" not in r.json()["items"][0] and "uscc" not in r.json()["items"][0]


def test_openapi_and_local_docs(client):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200 and "/api/registry/institutions" in r.json()["paths"]
    r = client.get("/api/docs")
    assert r.status_code == 200
    html = r.content.decode()
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()


def test_policy_view_and_override(client, leader, officer):
    client.force_login(officer)
    r = client.get("/api/core/policy", {"division": "510107"})
    row = next(p for p in r.json() if p["key"] == "fees.max_lessons_per_charge")
    assert row["value"] == 60 and row["set_by"] == "national" and row["basis"]
    r = client.put(
        "/api/accounts/policy/fees.max_lessons_per_charge",
        data=json.dumps({"division_code": "510107", "value": 40, "basis": "区规定"}),
        content_type="application/json",
    )
    assert r.status_code == 403
    client.force_login(leader)
    r = client.put(
        "/api/accounts/policy/fees.max_lessons_per_charge",
        data=json.dumps({"division_code": "510107", "value": 40, "basis": "区规定"}),
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["set_by"] == "510107" and r.json()["value"] == 40
    r = client.put(
        "/api/accounts/policy/fees.max_lessons_per_charge",
        data=json.dumps({"division_code": "5101", "value": 40, "basis": "市规定"}),
        content_type="application/json",
    )
    assert r.status_code == 403  # a county leader cannot set the city's figure


def test_approver_overrides_competent_department(api, officer):
    from qinglang.core.models import Department

    inst = make_institution(officer, kind="arts")
    assert inst.competent_department.kind == "culture_tourism"
    edu = Department.objects.get(division_id="510107", kind="education")
    url = f"/api/registry/institutions/{inst.pk}/competent-department"
    r = _post(api, url, {"department_id": edu.pk, "reason": ""})
    assert r.status_code == 422
    other = Department.objects.filter(kind="education").exclude(division__code__startswith="510107").first()
    if other is not None:
        assert _post(api, url, {"department_id": other.pk, "reason": "x"}).status_code == 422
    r = _post(api, url, {"department_id": edu.pk, "reason": "办学许可证由教育局审批"})
    assert r.status_code == 200 and r.json()["competent_department_id"] == edu.pk
    inst.refresh_from_db()
    assert inst.competent_department_overridden
