"""The console's home, institution list and funds dashboard cost a fixed number of
queries: as many for twelve institutions as for two (no query per row), and no more than
the bound below. A change that adds a query per row, or a new query to every page, fails
here and says how many."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from qinglang.testing import make_institution, make_user

pytestmark = pytest.mark.django_db

# the page's own queries once the session and the user's memberships are read, plus one
# read of the division names' version in the shared cache (the database cache on SQLite)
PAGES = {
    "portal:home": 19,  # the counts, plus the to-do list: one count or aggregate per source
    "portal:institution_list": 10,
    "portal:funds_overview": 13,
}


def _count(client, name: str) -> int:
    client.get(reverse(name))  # warm per-process caches (divisions, templates)
    with CaptureQueriesContext(connection) as q:
        r = client.get(reverse(name))
    assert r.status_code == 200, (name, r.status_code)
    return len(q.captured_queries)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_console_page_queries_do_not_grow_with_rows(client, admin, name):
    officer = make_user("regulator_officer")
    client.force_login(officer)
    for _ in range(2):
        make_institution(admin, whitelisted=True)
    few = _count(client, name)
    for _ in range(10):
        make_institution(admin, whitelisted=True)
    many = _count(client, name)
    assert many == few, f"{name}: {few} queries for 2 institutions, {many} for 12"
    assert many <= PAGES[name], f"{name}: {many} queries (bound {PAGES[name]})"
