"""Staff roles are logged out after 30 minutes without a request; parents are not.
Time travel is done by moving the session's last-seen stamp back."""

import time

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client

from qinglang.accounts.middleware import SESSION_KEY
from qinglang.accounts.models import Role
from qinglang.testing import make_user

ME = "/api/accounts/me"


def _client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    assert c.get(ME).status_code == 200  # stamps last-seen
    return c


def _idle(client: Client, minutes: int) -> None:
    session = client.session
    session[SESSION_KEY] = int(time.time()) - minutes * 60
    session.save()


def test_timeout_is_thirty_minutes():
    assert settings.STAFF_IDLE_TIMEOUT_SECONDS == 30 * 60


@pytest.mark.parametrize(
    "role",
    [Role.REGULATOR_OFFICER, Role.INSPECTOR, Role.GRID_WORKER, Role.PLATFORM_ADMIN, Role.BANK_OPERATOR],
)
def test_staff_session_expires_after_thirty_idle_minutes(db, role):
    c = _client_for(make_user(role, bank_id=1 if role == Role.BANK_OPERATOR else None))
    _idle(c, 31)
    r = c.get(ME)
    assert r.status_code == 401
    assert r.json()["code"] == "session_expired"
    assert "_auth_user_id" not in c.session
    assert c.get(ME).status_code == 401  # logged out for good, not just for one request


def test_institution_user_session_expires_too(db):
    from qinglang.testing import make_institution

    inst = make_institution()
    c = _client_for(make_user(Role.INSTITUTION_ADMIN, institution_id=inst.pk))
    _idle(c, 31)
    assert c.get(ME).status_code == 401


def test_expired_page_request_redirects_to_login_with_next(db):
    c = _client_for(make_user(Role.REGULATOR_OFFICER))
    _idle(c, 31)
    home = resolve_url(settings.LOGIN_REDIRECT_URL)
    r = c.get(home)
    assert r.status_code == 302
    assert r["Location"].startswith(resolve_url(settings.LOGIN_URL) + "?next=")
    assert "_auth_user_id" not in c.session


def test_staff_session_survives_twenty_nine_idle_minutes_and_is_renewed(db):
    c = _client_for(make_user(Role.REGULATOR_OFFICER))
    _idle(c, 29)
    assert c.get(ME).status_code == 200
    assert int(time.time()) - c.session[SESSION_KEY] < 60  # the request renewed the stamp


def test_parent_session_does_not_expire_when_idle(db):
    c = _client_for(make_user(Role.PARENT))
    _idle(c, 240)
    r = c.get(ME)
    assert r.status_code == 200 and r.json()["roles"] == ["parent"]


def test_the_session_is_written_back_once_a_minute_not_on_every_request(db):
    """Requests within a minute of the last stamp leave the session row as it was; the
    first one after a minute renews the stamp."""
    from django.contrib.sessions.models import Session

    from qinglang.accounts.middleware import LAST_SEEN_STEP_SECONDS

    c = _client_for(make_user(Role.REGULATOR_OFFICER))
    session = c.session
    half_a_minute_ago = int(time.time()) - LAST_SEEN_STEP_SECONDS // 2
    session[SESSION_KEY] = half_a_minute_ago
    session.save()
    stored = Session.objects.get(pk=session.session_key).session_data
    for _ in range(3):
        assert c.get(ME).status_code == 200
    assert Session.objects.get(pk=session.session_key).session_data == stored
    assert c.session[SESSION_KEY] == half_a_minute_ago
    _idle(c, 2)
    assert c.get(ME).status_code == 200
    assert int(time.time()) - c.session[SESSION_KEY] < LAST_SEEN_STEP_SECONDS  # renewed
