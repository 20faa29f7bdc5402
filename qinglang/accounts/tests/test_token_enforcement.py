"""API tokens expire and their scope is enforced: a read token reads and never writes; a
token older than QINGLANG_API_TOKEN_MAX_AGE_DAYS is refused."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from qinglang.accounts.models import ApiToken
from qinglang.accounts.services import api_token_create, forget_resolved_tokens
from qinglang.core.models import AuditEvent
from qinglang.testing import admin_user, make_user

pytestmark = pytest.mark.django_db


def _auth(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_a_read_token_reads_and_cannot_write():
    admin = admin_user()
    leader = make_user("regulator_leader")
    _, key = api_token_create(actor=admin, user=leader, name="dashboard", scope="read")
    c = Client()
    assert c.get("/api/accounts/me", **_auth(key)).status_code == 200
    seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    r = c.post(
        "/api/clues/leads",
        json.dumps(
            {"channel": "online_patrol", "division_code": "510107001", "content": "网上发布学科类培训广告"}
        ),
        content_type="application/json",
        **_auth(key),
    )
    assert r.status_code == 403 and "只读" in r.json()["message"]
    assert not AuditEvent.objects.filter(seq__gt=seq).exists()
    _, rw = api_token_create(actor=admin, user=leader, name="system", scope="read_write")
    r = c.post(
        "/api/clues/leads",
        json.dumps(
            {"channel": "online_patrol", "division_code": "510107001", "content": "网上发布学科类培训广告"}
        ),
        content_type="application/json",
        **_auth(rw),
    )
    assert r.status_code != 403, r.content[:200]


def test_an_old_token_expires(settings):
    admin = admin_user()
    token, key = api_token_create(actor=admin, user=make_user("regulator_leader"), name="old")
    c = Client()
    assert c.get("/api/accounts/me", **_auth(key)).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(
        created_at=timezone.now() - timedelta(days=settings.API_TOKEN_MAX_AGE_DAYS + 1)
    )
    forget_resolved_tokens()
    assert c.get("/api/accounts/me", **_auth(key)).status_code == 401
