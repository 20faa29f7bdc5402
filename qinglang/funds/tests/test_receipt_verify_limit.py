"""The public receipt check (/verify/<code>/ and /api/public/receipts/<code>) is limited
per client address through the shared rate limiter: past the limit it answers 429 with a
clear message, before anything is read; the page and the API count together; another
address is not affected."""

import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from qinglang.funds import services
from qinglang.funds.testing import funds_world, paid_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def code(settings):
    settings.RECEIPT_VERIFY_PER_MINUTE = 3
    w = funds_world()
    order = paid_order(w, lessons=2)
    return services.receipts_issue(order=order)[0].code


def _ip() -> str:  # a fresh address per test: counters on Redis outlive a test's transaction
    n = uuid.uuid4().int
    return f"10.{n % 250}.{n // 250 % 250}.{n // 62500 % 250 + 1}"


def test_the_fourth_check_in_a_minute_is_refused_page_and_api_together(code):
    c = Client(REMOTE_ADDR=_ip())
    page = reverse("portal:receipt_verify", args=[code])
    assert c.get(page).status_code == 200
    assert c.get(f"/api/public/receipts/{code}").status_code == 200
    assert c.get(reverse("portal:receipt_verify", args=["ZZZZZZZZZZZZZZZZ"])).status_code == 404  # counts too
    r = c.get(page)
    assert r.status_code == 429
    body = r.content.decode()
    assert "核验过于频繁，请1分钟后再试" in body and 'id="verified"' not in body
    r = c.get(f"/api/public/receipts/{code}")
    assert r.status_code == 429
    assert r.json()["code"] == "rate_limited" and "核验过于频繁" in r.json()["message"]
    assert r.json()["detail"] == {"retry_after": 60}
    # another address checks as before
    assert Client(REMOTE_ADDR=_ip()).get(page).status_code == 200


def test_a_refused_check_reads_no_receipt(code):
    c = Client(REMOTE_ADDR=_ip())
    for _ in range(3):
        c.get(f"/api/public/receipts/{code}")
    with CaptureQueriesContext(connection) as q:
        assert c.get(f"/api/public/receipts/{code}").status_code == 429
    assert not [x for x in q.captured_queries if "funds_receipt" in x["sql"]]


def test_the_limit_is_per_address_behind_a_proxy(code, settings):
    settings.CLIENT_IP_HEADER = "X-Real-IP"
    a, b = _ip(), _ip()
    c = Client(REMOTE_ADDR="127.0.0.1")
    for _ in range(3):
        assert c.get(f"/api/public/receipts/{code}", HTTP_X_REAL_IP=a).status_code == 200
    assert c.get(f"/api/public/receipts/{code}", HTTP_X_REAL_IP=a).status_code == 429
    assert c.get(f"/api/public/receipts/{code}", HTTP_X_REAL_IP=b).status_code == 200


def test_english_page_says_so(code, settings):
    c = Client(REMOTE_ADDR=_ip())
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = reverse("portal:receipt_verify", args=[code])
    for _ in range(3):
        c.get(page)
    r = c.get(page)
    assert r.status_code == 429 and "Too many checks" in r.content.decode()
