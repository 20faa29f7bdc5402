"""The hot institution list keeps its compiled statement per (scope, filters, fields):
its pages must equal the plain ORM query's, for every caller and filter, page by page,
and one caller's statement must never serve another's scope."""

import itertools
from datetime import date

import pytest

from qinglang.registry import selectors
from qinglang.registry.models import Institution, InstitutionStatus
from qinglang.testing import FULL_DISCLOSURE, OTHER_COUNTY, make_institution, make_user

FIELDS = ("id", "name", "kind", "status", "whitelisted", "division_code")


def _all_pages(actor, f, limit):
    ids, cursor = [], None
    while True:
        page = selectors.institution_page(actor=actor, filters=f, fields=FIELDS, cursor=cursor, limit=limit)
        ids += [row["id"] for row in page.items]
        assert all(set(row) == set(FIELDS) for row in page.items)
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


@pytest.fixture
def world(db, admin):
    for i in range(7):
        make_institution(admin, kind=("arts", "sports")[i % 2], licensed=bool(i % 3))
    for i in range(4):
        make_institution(admin, division_code=OTHER_COUNTY, kind="arts", licensed=True)
    Institution.objects.filter(pk__in=list(Institution.objects.values_list("pk", flat=True)[:3])).update(
        status=InstitutionStatus.SUSPENDED
    )
    return {
        "admin": admin,
        "county": make_user("regulator_officer"),
        "other": make_user("regulator_officer", prefixes=[OTHER_COUNTY]),
        "nobody": make_user("parent"),
    }


@pytest.mark.parametrize("limit", [1, 2, 50])
def test_cached_pages_equal_the_orm_query_for_every_caller_and_filter(world, limit):
    filters = [
        selectors.InstitutionFilter(kind=k, status=s, licence_status=ls)
        for k, s, ls in itertools.product(["", "arts", "sports"], ["", "active"], ["", "fully_licensed"])
    ]
    for _ in range(2):  # the second round runs on the kept statements
        for who, actor in world.items():
            for f in filters:
                want = list(
                    selectors.institution_list(actor=actor, filters=f)
                    .order_by("id")
                    .values_list("id", flat=True)
                )
                assert _all_pages(actor, f, limit) == want, (who, f)


def test_one_callers_statement_never_serves_another_scope(world):
    f = selectors.InstitutionFilter(kind="arts")
    county = _all_pages(world["county"], f, 50)
    other = _all_pages(world["other"], f, 50)
    assert county and other and not set(county) & set(other)
    assert set(Institution.objects.filter(pk__in=other).values_list("division_code", flat=True)) == {
        OTHER_COUNTY
    }
    assert _all_pages(world["nobody"], f, 50) == []


def test_a_new_row_shows_on_the_next_call(world):
    f = selectors.InstitutionFilter(kind="sports")
    before = _all_pages(world["county"], f, 50)
    inst = make_institution(world["admin"], kind="sports")
    assert _all_pages(world["county"], f, 50) == [*before, inst.pk]


def _whitelistable(admin) -> Institution:
    """A fully licensed, active institution whose staff are vetted, its board completed."""
    from qinglang.registry.services import disclosure_publish, staff_unvetted, staff_update

    inst = Institution.objects.filter(
        status=InstitutionStatus.ACTIVE,
        licence_status="fully_licensed",
        whitelisted=False,
        division_code__startswith="510107",
    ).first()
    for s in staff_unvetted(inst):
        staff_update(actor=admin, staff_id=s.pk, data={"background_check_on": date(2026, 1, 5)})
    disclosure_publish(actor=admin, institution_id=inst.pk, items=FULL_DISCLOSURE)
    return inst


def test_public_search_cache_never_shows_a_change_late(world, client):
    """The public search pages are cached, but any change to an institution (here: it
    joins the whitelist, then leaves it) shows on the very next search."""
    from qinglang.registry.services import whitelist_add, whitelist_remove

    url = "/api/public/whitelist?division=510107"

    def ids():
        r = client.get(url)
        assert r.status_code == 200
        return [i["id"] for i in r.json()["items"]]

    before = ids()
    assert ids() == before  # served from the cache
    inst = _whitelistable(world["admin"])
    whitelist_add(actor=world["admin"], institution_id=inst.pk, reason="证照齐全")
    assert inst.pk in ids()
    whitelist_remove(actor=world["admin"], institution_id=inst.pk, reason="复核")
    assert ids() == before


def test_public_search_and_writes_go_on_when_the_cache_server_fails(world, client, monkeypatch):
    """The cache server is outside the project: when it fails, a whitelisting still
    commits and the search answers from the database."""
    from qinglang.registry import public_cache
    from qinglang.registry.services import whitelist_add

    def down(*args, **kwargs):
        raise ConnectionError("cache server unreachable")

    for name in ("get_many", "get_or_set", "incr", "set"):
        monkeypatch.setattr(public_cache.cache, name, down)
    inst = _whitelistable(world["admin"])
    whitelist_add(actor=world["admin"], institution_id=inst.pk, reason="证照齐全")
    r = client.get("/api/public/whitelist?division=510107")
    assert r.status_code == 200 and inst.pk in [i["id"] for i in r.json()["items"]]
