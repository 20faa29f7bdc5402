"""Zero 5xx: what fuzzing and a careless hand found (negative paging, multipart without a
boundary, a fund page of an institution without a custody account, integer and date
overflow, an oversized body) answers 4xx with a clear error."""

import json

import pytest
from django.test import Client

from qinglang.testing import admin_user, make_institution

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    c = Client()
    c.force_login(admin_user())
    return c


@pytest.mark.parametrize(
    "query", [{"offset": -1}, {"limit": -5}, {"limit": 0}, {"offset": 10**30}, {"limit": 10**30}]
)
def test_bad_paging_is_422(admin_client, query):
    r = admin_client.get("/api/clues/clues", query)
    assert r.status_code == 422 and r.json()["code"], r.content[:200]


def test_multipart_without_boundary_is_400(admin_client):
    r = admin_client.generic("POST", "/api/clues/imports", b"--x\r\n\r\n", content_type="multipart/form-data")
    assert r.status_code == 400, r.content[:200]
    assert r.json()["code"] == "bad_request"


def test_console_fund_page_of_an_institution_without_custody_account(admin_client):
    inst = make_institution()
    r = admin_client.get(f"/console/funds/institutions/{inst.pk}/")
    assert r.status_code == 200, r.status_code
    assert "未开立".encode() in r.content or "托管".encode() in r.content


@pytest.mark.parametrize(
    "url",
    [
        "/api/registry/institutions/99999999999999999999999",
        f"/api/registry/institutions/{2**63}",
        "/console/institutions/99999999999999999999999/",
        f"/api/clues/clues/{2**64}",
    ],
)
def test_integer_overflow_in_a_path_is_404(admin_client, url):
    assert admin_client.get(url).status_code == 404


def test_integer_overflow_in_a_body_is_422(admin_client):
    inst = make_institution()
    r = admin_client.post(
        f"/api/registry/institutions/{inst.pk}/courses",
        json.dumps(
            {
                "name": "溢出课程",
                "kind": "arts",
                "stage": "primary",
                "lessons": 10**30,
                "unit_price_fen": 10**30,
            }
        ),
        content_type="application/json",
    )
    assert r.status_code in (400, 422), r.content[:300]


def test_date_overflow_is_4xx(admin_client):
    for url in (
        "/api/funds/banks/1/instructions?day=9999-12-31",
        "/console/funds/differences/?day=9999-12-31",
    ):
        assert admin_client.get(url).status_code < 500, url


def test_oversized_body_is_413(admin_client):
    body = b"x" * (26 * 1024 * 1024)
    r = admin_client.generic("POST", "/api/clues/leads", body, content_type="application/json")
    assert r.status_code == 413
    assert r.json()["code"] == "too_large"
