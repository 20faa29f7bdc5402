"""The resolved-token cache (accounts.services) is cleared by the services that change what
a token resolves to — explicitly, now and on commit — never by model signals: a revoked
token, a withdrawn membership or a deactivated account stops working on the very next
call, through the API, the console and the admin's bulk actions alike."""

import weakref

import pytest
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.test import Client

from qinglang.accounts import services as acc
from qinglang.accounts.models import ApiToken, Membership, Role, User
from qinglang.accounts.services import api_token_create, api_token_revoke
from qinglang.testing import ROOT, admin_user, make_user

pytestmark = pytest.mark.django_db

ME = "/api/accounts/me"


@pytest.fixture(autouse=True)
def cached(settings):
    settings.API_TOKEN_CACHE_SECONDS = 5  # as in production: a stale entry would be served
    acc.forget_resolved_tokens()


def _token(user=None):
    user = user or make_user(Role.REGULATOR_LEADER)
    tok, plain = api_token_create(actor=ROOT, user=user, name="对接系统")
    c = Client(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert c.get(ME).status_code == 200  # resolved and now cached
    assert acc._RECENT
    return user, tok, c


def _admin_client():
    c = Client()
    c.force_login(admin_user())
    return c


def test_no_model_signal_clears_the_token_cache():
    def receivers(signal):
        for entry in signal.receivers:
            ref = entry[1]
            yield ref() if isinstance(ref, weakref.ReferenceType) else ref

    for signal in (post_save, post_delete):
        found = {getattr(r, "__module__", "") for r in receivers(signal)}
        assert "qinglang.accounts.services" not in found and "qinglang.accounts.apps" not in found


def test_a_token_revoked_through_the_api_stops_at_once():
    _, tok, c = _token()
    r = _admin_client().delete(f"/api/admin/tokens/{tok.pk}")
    assert r.status_code == 200, r.content[:300]
    assert c.get(ME).status_code == 401


def test_a_withdrawn_membership_narrows_the_token_at_once():
    user = make_user(Role.REGULATOR_OFFICER, prefixes=["510107"])
    from qinglang.accounts.services import membership_grant

    membership_grant(actor=ROOT, user=user, role=Role.REGULATOR_LEADER, division_prefixes=["510104"])
    _, _, c = _token(user)
    assert sorted(c.get(ME).json()["roles"]) == ["regulator_leader", "regulator_officer"]
    m = Membership.objects.get(user=user, role=Role.REGULATOR_LEADER)
    r = _admin_client().delete(f"/api/admin/memberships/{m.pk}")
    assert r.status_code == 200, r.content[:300]
    me = c.get(ME).json()
    assert me["roles"] == ["regulator_officer"] and me["division_prefixes"] == ["510107"]


def test_a_granted_membership_widens_the_token_at_once():
    user, _, c = _token(make_user(Role.REGULATOR_OFFICER, prefixes=["510107"]))
    r = _admin_client().post(
        f"/api/admin/users/{user.pk}/memberships",
        {"role": "inspector", "division_prefixes": ["510104"]},
        content_type="application/json",
    )
    assert r.status_code in (200, 201), r.content[:300]
    assert sorted(c.get(ME).json()["roles"]) == ["inspector", "regulator_officer"]


def test_a_deactivated_account_token_stops_at_once():
    user, _, c = _token()
    r = _admin_client().post(f"/api/admin/users/{user.pk}/deactivate")
    assert r.status_code == 200, r.content[:300]
    assert c.get(ME).status_code == 401


def test_the_admin_bulk_delete_of_tokens_stops_them_at_once():
    _, t1, c1 = _token()
    _, t2, c2 = _token()
    admin = User.objects.create_superuser("root-bulk", password="Qinglang-test-2026")
    web = Client()
    web.force_login(admin)
    r = web.post(
        "/admin/accounts/apitoken/",
        {"action": "delete_selected", "_selected_action": [t1.pk, t2.pk], "post": "yes"},
    )
    assert r.status_code == 302, r.content[:300]
    assert not ApiToken.objects.filter(pk__in=[t1.pk, t2.pk]).exists()
    assert c1.get(ME).status_code == 401 and c2.get(ME).status_code == 401


def test_an_entry_cached_before_commit_is_dropped_on_commit(django_capture_on_commit_callbacks):
    """A request in another thread may resolve the old rows between the change and its
    commit; the second clearing, on commit, drops what it cached."""
    _, tok, c = _token()
    stale = dict(acc._RECENT)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        api_token_revoke(actor=ROOT, token=tok)
        assert not acc._RECENT  # cleared now
        acc._RECENT.update(stale)  # as the other thread would, from the uncommitted old rows
    assert not acc._RECENT  # and cleared again on commit
    assert c.get(ME).status_code == 401
