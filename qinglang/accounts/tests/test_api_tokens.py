"""API authentication: per-integration tokens (Bearer or X-API-Token), stored hashed,
revocable; session-authenticated writes need the CSRF token."""

import hashlib
import json

import pytest
from django.test import Client

from qinglang.accounts.models import ApiToken, Role
from qinglang.accounts.services import api_token_create, api_token_revoke
from qinglang.core.models import AuditEvent, PolicyParameter
from qinglang.testing import ROOT, make_user

ME = "/api/accounts/me"
POLICY_URL = "/api/accounts/policy/guided_price.subject_per_lesson_fen"


@pytest.fixture
def token(db):
    user = make_user(Role.REGULATOR_LEADER)
    tok, plain = api_token_create(actor=ROOT, user=user, name="区教育局对接系统")
    return user, tok, plain


def _policy_body() -> str:
    return json.dumps({"division_code": "510107", "value": 6000, "basis": "区发改局价格文件"})


def test_bearer_token_authenticates(token):
    user, _, plain = token
    r = Client().get(ME, HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert r.status_code == 200 and r.json()["username"] == user.username


def test_x_api_token_header_authenticates(token):
    user, _, plain = token
    r = Client().get(ME, HTTP_X_API_TOKEN=plain)
    assert r.status_code == 200 and r.json()["username"] == user.username


def test_token_is_stored_only_as_sha256_digest(token):
    _, tok, plain = token
    assert tok.digest == hashlib.sha256(plain.encode()).hexdigest()
    stored = json.dumps(list(ApiToken.objects.values()), default=str)
    assert plain not in stored
    assert plain[len("qlt_") :] not in stored
    assert tok.prefix == plain[:12]  # only a short prefix, for recognising a token in lists


def test_token_creation_is_audited_without_the_token(token):
    _, tok, plain = token
    e = AuditEvent.objects.get(action="api_token.create", object_id=str(tok.pk))
    assert plain not in json.dumps(e.changes, ensure_ascii=False)


@pytest.mark.parametrize("header", ["HTTP_AUTHORIZATION", "HTTP_X_API_TOKEN"])
def test_revoked_token_gets_401_json(token, header):
    _, tok, plain = token
    api_token_revoke(actor=ROOT, token=tok)
    value = f"Bearer {plain}" if header == "HTTP_AUTHORIZATION" else plain
    r = Client().get(ME, **{header: value})
    assert r.status_code == 401
    body = r.json()
    assert body["code"] == "unauthenticated" and body["message"] and "detail" in body


@pytest.mark.parametrize(
    "value", ["Bearer qlt_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "qlt_missing-scheme"]
)
def test_wrong_or_malformed_token_gets_401(db, value):
    r = Client().get(ME, HTTP_AUTHORIZATION=value)
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"


def test_no_credentials_gets_401(db):
    r = Client().get(ME)
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"


def test_token_of_deactivated_user_is_refused(token):
    user, _, plain = token
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert Client().get(ME, HTTP_AUTHORIZATION=f"Bearer {plain}").status_code == 401


def test_token_use_is_recorded(token):
    _, tok, plain = token
    assert tok.last_used_at is None
    Client().get(ME, HTTP_AUTHORIZATION=f"Bearer {plain}")
    tok.refresh_from_db()
    assert tok.last_used_at is not None


def test_session_api_write_without_csrf_token_is_refused(db):
    leader = make_user(Role.REGULATOR_LEADER)
    c = Client(enforce_csrf_checks=True)
    c.force_login(leader)
    before = AuditEvent.objects.count()
    r = c.put(POLICY_URL, _policy_body(), content_type="application/json")
    assert r.status_code in (401, 403)
    assert AuditEvent.objects.count() == before
    assert not PolicyParameter.objects.filter(division_code="510107").exists()


def test_session_api_write_with_csrf_token_is_accepted(db):
    """The refusal above is about CSRF: the same request with the token goes through."""
    leader = make_user(Role.REGULATOR_LEADER)
    c = Client(enforce_csrf_checks=True)
    c.get("/accounts/login/")  # the login form sets the CSRF cookie
    csrf = c.cookies["csrftoken"].value
    c.force_login(leader)
    r = c.put(POLICY_URL, _policy_body(), content_type="application/json", HTTP_X_CSRFTOKEN=csrf)
    assert r.status_code == 200, r.content
    assert PolicyParameter.objects.filter(division_code="510107", value=6000).exists()


def test_token_api_write_needs_no_csrf_token(token):
    """Integrations send a token, not a cookie, so CSRF does not apply to them."""
    _, _, plain = token
    c = Client(enforce_csrf_checks=True)
    r = c.put(
        POLICY_URL, _policy_body(), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {plain}"
    )
    assert r.status_code == 200, r.content


def test_token_carries_the_users_scope_and_a_withdrawn_role_takes_effect_at_once(db):
    """The token lookup builds the caller's scope in the same query; nothing is cached, so
    withdrawing a membership changes the very next call."""
    from qinglang.accounts.models import Membership
    from qinglang.accounts.services import membership_grant, membership_revoke

    user = make_user(Role.REGULATOR_OFFICER, prefixes=["510107"])
    membership_grant(
        actor=ROOT, user=user, role=Role.REGULATOR_LEADER, division_prefixes=["510104", "510105"]
    )
    _, plain = api_token_create(actor=ROOT, user=user, name="对接")
    c = Client(HTTP_AUTHORIZATION=f"Bearer {plain}")
    me = c.get(ME).json()
    assert me["roles"] == ["regulator_leader", "regulator_officer"]
    assert me["division_prefixes"] == ["510104", "510105", "510107"]
    assert me["display_name"] == user.display_name

    membership_revoke(actor=ROOT, membership=Membership.objects.get(user=user, role=Role.REGULATOR_LEADER))
    me = c.get(ME).json()
    assert me["roles"] == ["regulator_officer"] and me["division_prefixes"] == ["510107"]


def test_token_user_without_memberships_sees_nothing_but_is_authenticated(db):
    from qinglang.accounts.models import User

    user = User.objects.create_user(username="no-role", password="Qinglang-test-2026")
    _, plain = api_token_create(actor=ROOT, user=user, name="无角色")
    me = Client(HTTP_AUTHORIZATION=f"Bearer {plain}").get(ME).json()
    assert me["username"] == "no-role" and me["roles"] == [] and me["division_prefixes"] == []


def test_resolved_token_is_kept_seconds_per_process_and_dropped_on_change(token, settings, monkeypatch):
    """Another process's revocation (a direct database change here, which sends no
    signal) shows after API_TOKEN_CACHE_SECONDS; a change made in this process at once."""
    import time as _time

    from django.utils import timezone

    from qinglang.accounts import services as acc

    settings.API_TOKEN_CACHE_SECONDS = 5
    _, tok, plain = token
    c = Client(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert c.get(ME).status_code == 200
    ApiToken.objects.filter(pk=tok.pk).update(revoked_at=timezone.now())  # as another process would
    assert c.get(ME).status_code == 200  # still kept here
    later = _time.monotonic() + 6
    monkeypatch.setattr(acc.time, "monotonic", lambda: later)
    assert c.get(ME).status_code == 401

    ApiToken.objects.filter(pk=tok.pk).update(revoked_at=None)
    assert c.get(ME).status_code == 200
    api_token_revoke(actor=ROOT, token=ApiToken.objects.get(pk=tok.pk))  # this process: at once
    assert c.get(ME).status_code == 401
