"""membership_grant: a role always comes with a valid scope."""

import pytest
from django.core.exceptions import ValidationError

from qinglang.accounts.models import Membership, Role
from qinglang.accounts.services import membership_grant, user_create
from qinglang.core.errors import DomainError
from qinglang.core.models import AuditEvent
from qinglang.testing import DEMO_COUNTY, ROOT, TOWNSHIP


@pytest.fixture
def person(db):
    return user_create(actor=ROOT, username="zhangsan", password="x", check_password=False)


@pytest.mark.parametrize(
    "role", [Role.REGULATOR_LEADER, Role.REGULATOR_OFFICER, Role.INSPECTOR, Role.GRID_WORKER]
)
def test_regulator_without_prefixes_is_refused(person, role):
    with pytest.raises(ValidationError) as exc:
        membership_grant(actor=ROOT, user=person, role=role, division_prefixes=[])
    assert "division_prefixes" in exc.value.message_dict
    assert not Membership.objects.filter(user=person).exists()


def test_regulator_with_unknown_division_code_is_refused(person):
    before = AuditEvent.objects.count()
    with pytest.raises(DomainError) as exc:
        membership_grant(
            actor=ROOT, user=person, role=Role.REGULATOR_OFFICER, division_prefixes=[DEMO_COUNTY, "519999"]
        )
    assert exc.value.code == "unknown_division" and exc.value.detail == {"codes": ["519999"]}
    assert not Membership.objects.filter(user=person).exists()
    assert AuditEvent.objects.count() == before


def test_regulator_with_unknown_department_kind_is_refused(person):
    with pytest.raises(ValidationError):
        membership_grant(
            actor=ROOT,
            user=person,
            role=Role.REGULATOR_OFFICER,
            division_prefixes=[DEMO_COUNTY],
            department_kind="ministry_of_magic",
        )


def test_regulator_with_known_codes_is_granted_and_audited(person):
    m = membership_grant(
        actor=ROOT,
        user=person,
        role=Role.GRID_WORKER,
        division_prefixes=[f" {TOWNSHIP} "],
        department_kind="education",
    )
    assert m.division_prefixes == [TOWNSHIP]
    e = AuditEvent.objects.get(action="membership.grant", object_id=str(m.pk))
    assert e.division_code == TOWNSHIP and e.changes["role"] == Role.GRID_WORKER


@pytest.mark.parametrize(
    "role", [Role.INSTITUTION_ADMIN, Role.PARENT, Role.BANK_OPERATOR, Role.PLATFORM_ADMIN]
)
def test_non_regulator_cannot_be_given_division_prefixes(person, role):
    with pytest.raises(ValidationError):
        membership_grant(
            actor=ROOT, user=person, role=role, division_prefixes=[DEMO_COUNTY], institution_id=1, bank_id=1
        )


@pytest.mark.parametrize("role", [Role.INSTITUTION_ADMIN, Role.INSTITUTION_STAFF])
def test_institution_role_needs_an_institution(person, role):
    with pytest.raises(ValidationError) as exc:
        membership_grant(actor=ROOT, user=person, role=role)
    assert "institution_id" in exc.value.message_dict


def test_bank_operator_needs_a_bank(person):
    with pytest.raises(ValidationError) as exc:
        membership_grant(actor=ROOT, user=person, role=Role.BANK_OPERATOR)
    assert "bank_id" in exc.value.message_dict


def test_unknown_role_is_refused(person):
    with pytest.raises(ValidationError):
        membership_grant(actor=ROOT, user=person, role="superhero")
