"""restrict(): what each role sees, and writes that re-check scope."""

from types import SimpleNamespace

import pytest

from qinglang.accounts.models import Role
from qinglang.accounts.scope import actor_for, restrict
from qinglang.accounts.services import membership_grant, membership_revoke
from qinglang.core.errors import NotFound, PermissionDeniedError
from qinglang.core.models import AuditEvent
from qinglang.registry import selectors, services
from qinglang.registry.models import Course, Institution
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, ROOT, TOWNSHIP, make_institution, make_user

OTHER_TOWNSHIP_IN_DEMO_COUNTY = "510107004"


@pytest.fixture
def places(admin):
    """A (arts, demo county township), C (sports, another township of the demo county),
    B (arts, the other county)."""
    a = make_institution(admin, division_code=TOWNSHIP, kind="arts", name="甲机构")
    c = make_institution(admin, division_code=OTHER_TOWNSHIP_IN_DEMO_COUNTY, kind="sports", name="丙机构")
    b = make_institution(admin, division_code=OTHER_COUNTY, kind="arts", name="乙机构")
    return SimpleNamespace(a=a, b=b, c=c)


def _seen(user, **kw) -> set[int]:
    return set(restrict(Institution.objects.all(), user, **kw).values_list("id", flat=True))


def test_platform_admin_sees_everything(admin, places):
    assert _seen(admin) == {places.a.pk, places.b.pk, places.c.pk}


@pytest.mark.parametrize(
    "role", [Role.REGULATOR_LEADER, Role.REGULATOR_OFFICER, Role.INSPECTOR, Role.GRID_WORKER]
)
def test_county_regulator_sees_their_county_only(places, role):
    assert _seen(make_user(role, prefixes=[DEMO_COUNTY])) == {places.a.pk, places.c.pk}


def test_township_grid_worker_sees_their_township_only(places):
    assert _seen(make_user(Role.GRID_WORKER, prefixes=[TOWNSHIP])) == {places.a.pk}


def test_city_regulator_sees_every_county_of_the_city(places):
    assert _seen(make_user(Role.REGULATOR_LEADER, prefixes=["5101"])) == {
        places.a.pk,
        places.b.pk,
        places.c.pk,
    }


def test_regulator_with_several_prefixes_sees_their_union(places):
    assert _seen(make_user(Role.REGULATOR_OFFICER, prefixes=[TOWNSHIP, OTHER_COUNTY])) == {
        places.a.pk,
        places.b.pk,
    }


def test_national_prefix_means_everywhere(places):
    user = make_user(Role.REGULATOR_LEADER, prefixes=[""])
    assert _seen(user) == {places.a.pk, places.b.pk, places.c.pk}


def test_regulator_with_department_sees_whole_county_in_registry_reads_since_selectors_pass_regulator_department_false(
    places,
):
    """A sports-bureau officer browsing the registry sees every institution of the county
    (the registry is shared reference for all departments); restrict() narrows to the
    department only when a selector asks for it (the default, regulator_department=True)."""
    sports = make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY], department_kind="sports")
    assert _seen(sports) == {places.c.pk}
    assert _seen(sports, regulator_department=False) == {places.a.pk, places.c.pk}
    assert set(selectors.institution_list(actor=sports).values_list("id", flat=True)) == {
        places.a.pk,
        places.c.pk,
    }
    assert selectors.institution_get(actor=sports, institution_id=places.a.pk) == places.a
    with pytest.raises(NotFound):
        selectors.institution_get(actor=sports, institution_id=places.b.pk)


@pytest.mark.parametrize("role", [Role.INSTITUTION_ADMIN, Role.INSTITUTION_STAFF])
def test_institution_user_sees_their_institution_only(places, role):
    user = make_user(role, institution_id=places.a.pk)
    assert _seen(user) == {places.a.pk}
    assert set(restrict(Course.objects.all(), user).values_list("institution_id", flat=True)) <= {places.a.pk}


def test_bank_operator_and_parent_see_no_institutions(places):
    assert _seen(make_user(Role.BANK_OPERATOR, bank_id=1)) == set()
    assert _seen(make_user(Role.PARENT)) == set()


def test_anonymous_and_roleless_users_see_nothing(places, db):
    from django.contrib.auth.models import AnonymousUser

    from qinglang.accounts.services import user_create

    assert _seen(AnonymousUser()) == set()
    assert _seen(None) == set()
    assert _seen(user_create(actor=ROOT, username="nobody", password="x", check_password=False)) == set()


def test_revoked_membership_no_longer_gives_scope(places):
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY])
    membership_revoke(actor=ROOT, membership=officer.memberships.get())
    officer = type(officer).objects.get(pk=officer.pk)  # actor_for caches on the instance
    assert _seen(officer) == set()


def test_memberships_add_up(places):
    user = make_user(Role.INSTITUTION_ADMIN, institution_id=places.b.pk)
    membership_grant(actor=ROOT, user=user, role=Role.GRID_WORKER, division_prefixes=[TOWNSHIP])
    user = type(user).objects.get(pk=user.pk)
    assert _seen(user) == {places.a.pk, places.b.pk}
    assert actor_for(user).roles == {Role.INSTITUTION_ADMIN, Role.GRID_WORKER}


# --- writes re-check scope -------------------------------------------------------------


def _state(inst) -> dict:
    return Institution.objects.filter(pk=inst.pk).values().get()


@pytest.mark.parametrize("who", ["officer", "leader", "institution_admin"])
def test_institution_update_out_of_scope_raises_not_found_and_writes_nothing(places, who):
    actor = {
        "officer": lambda: make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY]),
        "leader": lambda: make_user(Role.REGULATOR_LEADER, prefixes=[DEMO_COUNTY]),
        "institution_admin": lambda: make_user(Role.INSTITUTION_ADMIN, institution_id=places.a.pk),
    }[who]()
    before, seq = _state(places.b), AuditEvent.objects.count()
    with pytest.raises(NotFound):
        services.institution_update(actor=actor, institution_id=places.b.pk, data={"contact_name": "越权"})
    assert _state(places.b) == before
    assert AuditEvent.objects.count() == seq


def test_other_writes_out_of_scope_raise_not_found(places):
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY])
    org_admin = make_user(Role.INSTITUTION_ADMIN, institution_id=places.a.pk)
    seq = AuditEvent.objects.count()
    with pytest.raises(NotFound):
        services.institution_transition(
            actor=officer, institution_id=places.b.pk, to_status="suspended", reason="越权"
        )
    with pytest.raises(NotFound):
        services.blacklist_add(actor=officer, institution_id=places.b.pk, reason="越权")
    with pytest.raises(NotFound):
        services.course_create(
            actor=org_admin,
            institution_id=places.b.pk,
            data={"name": "越权", "kind": "arts", "stage": "primary", "lessons": 1, "unit_price_fen": 1},
        )
    assert AuditEvent.objects.count() == seq


def test_nobody_can_move_an_institution_out_of_their_own_reach(places):
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY])
    before, seq = _state(places.a), AuditEvent.objects.count()
    with pytest.raises(PermissionDeniedError):
        services.institution_update(
            actor=officer, institution_id=places.a.pk, data={"division_code": OTHER_COUNTY}
        )
    assert _state(places.a) == before
    assert AuditEvent.objects.count() == seq


def test_in_scope_update_succeeds(places):
    """The control for the refusals above."""
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY])
    services.institution_update(actor=officer, institution_id=places.a.pk, data={"contact_name": "王老师"})
    places.a.refresh_from_db()
    assert places.a.contact_name == "王老师"
