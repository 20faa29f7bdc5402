"""Issue #13 item 11: staff accounts. Two-factor sign-in (TOTP) with recovery codes,
required of the platform admin and regulator leaders, optional for other staff; a
password may not resemble the username; staff sessions end 8 hours after sign-in even
when active. Signed in without a browser, with TOTP codes computed here."""

import re
import time

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from qinglang.accounts.models import Role
from qinglang.core.models import AuditEvent
from qinglang.testing import make_user

LOGIN = "/accounts/login/"
PASSWORD = "Qinglang-test-2026"


def code(device, *, steps_ahead: int = 0) -> str:
    """What the authenticator app shows (``steps_ahead`` 30-second steps later)."""
    t = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    t.time = time.time() + steps_ahead * device.step
    return f"{t.token():0{device.digits}d}"


def _enrol(client) -> tuple[TOTPDevice, list[str]]:
    r = client.get("/accounts/two-factor/")
    assert r.status_code == 200
    body = r.content.decode()
    assert "<svg" in body and 'id="two-factor-secret"' in body and "<script" not in body.split("<main")[-1]
    device = TOTPDevice.objects.get(user=r.wsgi_request.user, confirmed=False)
    r = client.post(
        "/accounts/two-factor/",
        {"action": "confirm", "code": "000000" if code(device) != "000000" else "111111"},
    )
    assert r.status_code == 400 and not TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()
    time.sleep(1.1)  # django-otp throttles a device for a second after a wrong code
    r = client.post("/accounts/two-factor/", {"action": "confirm", "code": code(device)})
    assert r.status_code == 200
    codes = re.findall(r"<li>([a-z0-9]{8})</li>", r.content.decode())
    assert len(codes) == 10
    device.refresh_from_db()
    assert device.confirmed
    return device, codes


def _password(client, user):
    return client.post(LOGIN, {"username": user.username, "password": PASSWORD})


def test_enrolled_user_signs_in_with_password_then_totp(db):
    user = make_user(Role.REGULATOR_OFFICER)  # optional for officers
    c = Client()
    assert _password(c, user).status_code == 302
    device, _codes = _enrol(c)
    assert AuditEvent.objects.filter(action="user.two_factor_enrol", object_id=str(user.pk)).exists()
    c.post("/accounts/logout/")

    c = Client()
    r = _password(c, user)
    assert r.status_code == 302 and r["Location"] == "/accounts/login/code/"
    assert "_auth_user_id" not in c.session  # the password alone signs nobody in
    assert c.get("/home/").status_code == 302
    r = c.post("/accounts/login/code/", {"code": "12345"})
    assert r.status_code == 400 and "_auth_user_id" not in c.session
    time.sleep(1.1)
    r = c.post("/accounts/login/code/", {"code": code(device, steps_ahead=1)})
    assert r.status_code == 302 and c.session["_auth_user_id"] == str(user.pk)
    assert c.get("/home/").status_code == 200


def test_a_recovery_code_signs_in_once(db):
    user = make_user(Role.REGULATOR_OFFICER)
    c = Client()
    _password(c, user)
    _device, codes = _enrol(c)
    for attempt in range(2):
        c = Client()
        _password(c, user)
        r = c.post("/accounts/login/code/", {"code": codes[0]})
        if attempt == 0:
            assert r.status_code == 302 and "_auth_user_id" in c.session
        else:
            assert r.status_code == 400 and "_auth_user_id" not in c.session


def test_leader_and_admin_must_enrol_when_required_officer_need_not(db, settings):
    settings.TWO_FACTOR_REQUIRED = True
    leader = make_user(Role.REGULATOR_LEADER)
    admin = make_user(Role.PLATFORM_ADMIN)
    officer = make_user(Role.REGULATOR_OFFICER)
    for u in (leader, admin):
        c = Client()
        assert _password(c, u).status_code == 302
        r = c.get("/home/")
        assert r.status_code == 302 and r["Location"] == "/accounts/two-factor/"
        api = c.get("/api/accounts/me")
        assert api.status_code == 403 and api.json()["code"] == "two_factor_required"
        assert "须启用两步验证" in c.get("/accounts/two-factor/").content.decode()
        _enrol(c)  # enrolment verifies this session
        assert c.get("/home/").status_code == 200
    c = Client()
    _password(c, officer)
    assert c.get("/home/").status_code == 200


def test_session_with_a_device_but_not_verified_must_verify(db, settings, client):
    """A leader signed in before enrolling elsewhere, or by any other path: the session
    must be verified with a code."""
    settings.TWO_FACTOR_REQUIRED = True
    leader = make_user(Role.REGULATOR_LEADER)
    device = TOTPDevice.objects.create(user=leader, name="t", confirmed=True)
    client.force_login(leader)
    assert client.get("/home/")["Location"] == "/accounts/two-factor/"
    r = client.post("/accounts/two-factor/", {"action": "verify", "code": code(device)})
    assert r.status_code == 302 and client.get("/home/").status_code == 200


def test_password_may_not_resemble_the_username(db):
    from django.core.exceptions import ValidationError

    from qinglang.accounts.services import user_create
    from qinglang.testing import ROOT

    with pytest.raises(ValidationError):
        user_create(actor=ROOT, username="wuhou-zhangsan", password="wuhou-zhangsan1", display_name="张三")
    user = make_user(Role.REGULATOR_OFFICER)
    c = Client()
    c.force_login(user)
    weak = user.username + "9"
    r = c.post(
        "/accounts/password/", {"old_password": PASSWORD, "new_password1": weak, "new_password2": weak}
    )
    assert r.status_code == 200 and "太相似" in r.content.decode()


def test_self_service_password_change(db):
    user = make_user(Role.REGULATOR_OFFICER)
    c = Client()
    c.force_login(user)
    new = "Lantern-River-2031"
    r = c.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert r.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)


def test_staff_session_ends_eight_hours_after_sign_in_even_when_active(db, settings):
    from qinglang.accounts.middleware import LOGIN_AT, SESSION_KEY

    assert settings.STAFF_SESSION_MAX_SECONDS == 8 * 3600
    user = make_user(Role.REGULATOR_OFFICER)
    c = Client()
    assert _password(c, user).status_code == 302
    assert c.get("/home/").status_code == 200
    s = c.session
    now = int(time.time())
    s[LOGIN_AT] = now - 8 * 3600 + 60  # signed in 7 h 59 min ago, active a moment ago
    s[SESSION_KEY] = now - 10
    s.save()
    assert c.get("/home/").status_code == 200
    s = c.session
    s[LOGIN_AT] = now - 8 * 3600 - 1
    s.save()
    r = c.get("/home/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in c.session
