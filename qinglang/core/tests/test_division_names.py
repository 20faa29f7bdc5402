"""core.division_names: names kept per process, invalidated by the division services
through a version in the shared cache — a rename shows on the next request, in this
process and in any other."""

import pytest
from django.core.cache import caches
from django.test import Client

from qinglang.accounts import administration as adm
from qinglang.accounts.models import Role
from qinglang.core import division_names
from qinglang.core.models import Division
from qinglang.core.services import department_ensure_for_division
from qinglang.testing import DEMO_COUNTY, ROOT, TOWNSHIP, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_names():
    """Each test starts and ends on a new version: a rename these tests make is rolled back
    with the test's transaction, but a version bumped in Redis is not, and this process
    would keep the rolled-back name under it."""
    division_names.names_changed()
    yield
    division_names.names_changed()


@pytest.fixture
def page(db):
    """The leader's page of an account administered in TOWNSHIP (it shows the township's
    full name through the ``division_name`` filter)."""
    department_ensure_for_division(actor=ROOT, division_code=DEMO_COUNTY)
    leader = make_user(Role.REGULATOR_LEADER, prefixes=[DEMO_COUNTY])
    user, _ = adm.staff_account_create(
        actor=leader, username="13877770001", display_name="网格员甲", phone="13877770001",
        role=Role.GRID_WORKER, division_code=TOWNSHIP,
    )  # fmt: skip
    c = Client()
    c.force_login(leader)
    return c, f"/console/admin/users/{user.pk}/"


def test_a_rename_shows_on_the_next_request(page):
    c, url = page
    assert "武侯区浆洗街街道" in c.get(url).content.decode()
    r = c.patch(f"/api/admin/divisions/{TOWNSHIP}", {"name": "新浆洗街道"}, content_type="application/json")
    assert r.status_code == 200
    body = c.get(url).content.decode()
    assert "武侯区新浆洗街道" in body and "浆洗街街道" not in body


def test_a_change_made_by_another_process_shows_once_it_bumps_the_shared_version(page):
    c, url = page
    assert "武侯区浆洗街街道" in c.get(url).content.decode()
    # another process renames (its own connection: here a plain UPDATE) — this process
    # still serves the name it holds, which shows the names really are kept …
    Division.objects.filter(code=TOWNSHIP).update(name="他处街道", full_name="四川省成都市武侯区他处街道")
    assert "武侯区浆洗街街道" in c.get(url).content.decode()
    # … until that process's service bumps the version in the shared cache
    before = caches["shared"].get(division_names.VERSION_KEY)
    division_names.names_changed()
    assert caches["shared"].get(division_names.VERSION_KEY) != before
    assert "武侯区他处街道" in c.get(url).content.decode()


def test_the_shared_cache_is_one_every_process_reads():
    """Redis when configured, else the database (never a per-process memory cache)."""
    backend = type(caches["shared"]).__module__
    assert backend.startswith(("django_redis", "django.core.cache.backends.db")), backend


def test_every_division_service_that_adds_or_renames_bumps_the_version(db):
    from qinglang.core import services

    def version():
        return caches["shared"].get(division_names.VERSION_KEY)

    seen = [version()]
    services.division_add(actor=ROOT, code="510107888", name="新设街道", under=DEMO_COUNTY)
    seen.append(version())
    services.division_rename(actor=ROOT, code="510107888", name="新设二街道")
    seen.append(version())
    services.division_sync(actor=ROOT, county_code=DEMO_COUNTY, rows=[(2, "510107889", "又一街道")])
    seen.append(version())
    assert len(set(seen)) == 4, seen
