"""Login lockout (django-axes): five failed logins within 15 minutes lock the account, and
while it is locked even the right password is refused."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client

from qinglang.accounts.models import Role
from qinglang.testing import make_user

LOGIN = "/accounts/login/"
PASSWORD = "Qinglang-test-2026"  # what qinglang.testing.make_user sets


def _login(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def officer_login(db):
    return make_user(Role.REGULATOR_OFFICER).username


def test_lockout_settings_are_five_failures_in_fifteen_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert timedelta(hours=settings.AXES_COOLOFF_TIME) == timedelta(minutes=15)
    assert settings.AXES_ENABLED


def test_right_password_logs_in(officer_login):
    c = Client()
    r = _login(c, officer_login, PASSWORD)
    assert r.status_code == 302 and _logged_in(c)


def test_wrong_password_shows_chinese_error_and_warns_of_lockout(officer_login):
    c = Client()
    r = _login(c, officer_login, "wrong-password")
    assert r.status_code == 200 and not _logged_in(c)
    assert "连续失败5次将锁定15分钟" in r.content.decode()


def test_sixth_attempt_with_right_password_is_refused_after_five_failures(officer_login):
    c = Client()
    for _ in range(5):
        r = _login(c, officer_login, "wrong-password")
        assert not _logged_in(c)
    r = _login(c, officer_login, PASSWORD)
    assert r.status_code == 429
    assert "账号已锁定15分钟" in r.content.decode()
    assert not _logged_in(c)
    # from another browser too: the account is locked, not the session
    other = Client()
    assert _login(other, officer_login, PASSWORD).status_code == 429 and not _logged_in(other)


def test_four_failures_do_not_lock(officer_login):
    c = Client()
    for _ in range(4):
        _login(c, officer_login, "wrong-password")
    r = _login(c, officer_login, PASSWORD)
    assert r.status_code == 302 and _logged_in(c)


def test_success_resets_the_failure_count(officer_login):
    c = Client()
    for _ in range(4):
        _login(c, officer_login, "wrong-password")
    assert _login(c, officer_login, PASSWORD).status_code == 302
    c.logout()
    for _ in range(4):
        _login(c, officer_login, "wrong-password")
    assert _login(c, officer_login, PASSWORD).status_code == 302 and _logged_in(c)


def test_lock_is_per_account_so_a_shared_office_address_is_not_shut_out(officer_login, db):
    colleague = make_user(Role.REGULATOR_OFFICER).username
    c = Client()
    for _ in range(5):
        _login(c, officer_login, "wrong-password")
    assert _login(c, colleague, PASSWORD).status_code == 302


def _age_attempts(username: str, minutes: int) -> None:
    for a in AccessAttempt.objects.filter(username=username):
        AccessAttempt.objects.filter(pk=a.pk).update(attempt_time=a.attempt_time - timedelta(minutes=minutes))


def test_lock_lifts_after_fifteen_minutes(officer_login):
    c = Client()
    for _ in range(5):
        _login(c, officer_login, "wrong-password")
    assert _login(c, officer_login, PASSWORD).status_code == 429
    _age_attempts(officer_login, 16)
    r = _login(c, officer_login, PASSWORD)
    assert r.status_code == 302 and _logged_in(c)


def test_failures_older_than_fifteen_minutes_do_not_count(officer_login):
    c = Client()
    for _ in range(4):
        _login(c, officer_login, "wrong-password")
    _age_attempts(officer_login, 16)
    _login(c, officer_login, "wrong-password")  # the first failure of a new window
    r = _login(c, officer_login, PASSWORD)
    assert r.status_code == 302 and _logged_in(c)
