"""The demo seed: a realistic county whose data keeps the registry's rules."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from stdnum.cn import ric

from qinglang.accounts.models import Membership, Role, User
from qinglang.core.audit import audit_verify
from qinglang.core.crypto import decrypt
from qinglang.core.models import AuditEvent
from qinglang.portal import demo
from qinglang.registry.models import (
    Course,
    Institution,
    InstitutionStatus,
    Kind,
    Licence,
    LicenceStatus,
    ListEntry,
    ListKind,
    MaterialStatus,
    Site,
    Staff,
    TrainingMaterial,
)
from qinglang.registry.services.institutions import derive_licence_status
from qinglang.registry.supervision import competent_department_for
from qinglang.testing import built_once, seed_district_demo

# one worker seeds the demo for all of this module's tests (with `--dist loadgroup`, as `make test`
# runs), instead of each worker that gets some of them seeding its own
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("portal-demo")]


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The district demo, seeded once for the module's tests (each rolls back its own
    writes); its printed summary."""
    yield from built_once(django_db_blocker, seed_district_demo)


def test_district_covers_every_kind_state_and_status(seeded):
    insts = Institution.objects.all()
    assert 250 <= insts.count() <= 350
    assert set(insts.values_list("kind", flat=True)) == set(Kind.values)
    assert set(insts.values_list("licence_status", flat=True)) == set(LicenceStatus.values)
    assert set(insts.values_list("status", flat=True)) == set(InstitutionStatus.values)
    assert insts.filter(status=InstitutionStatus.ACTIVE).count() > insts.count() // 2
    assert set(TrainingMaterial.objects.values_list("status", flat=True)) == set(MaterialStatus.values)
    assert all(i.division_code.startswith(demo.DEMO_COUNTY) for i in insts)
    assert Site.objects.exclude(division_code__startswith=demo.DEMO_COUNTY).count() == 0
    assert Course.objects.filter(unit_price_fen__lte=0).count() == 0
    assert "done:" in seeded


def test_whitelist_and_licence_invariants(seeded):
    white = Institution.objects.filter(whitelisted=True)
    assert white.count() > 50
    assert not white.exclude(licence_status=LicenceStatus.FULLY_LICENSED).exists()
    assert not white.exclude(status=InstitutionStatus.ACTIVE).exists()
    assert not Institution.objects.filter(whitelisted=True, blacklisted=True).exists()
    assert Institution.objects.filter(blacklisted=True).exists()
    # list entries match the flags
    open_white = set(
        ListEntry.objects.filter(list_kind=ListKind.WHITE, removed_on__isnull=True).values_list(
            "institution_id", flat=True
        )
    )
    assert open_white == set(white.values_list("id", flat=True))
    open_black = set(
        ListEntry.objects.filter(list_kind=ListKind.BLACK, removed_on__isnull=True).values_list(
            "institution_id", flat=True
        )
    )
    assert open_black == set(Institution.objects.filter(blacklisted=True).values_list("id", flat=True))
    # derived fields agree with the services' rules
    for inst in Institution.objects.prefetch_related("licences")[:120]:
        assert derive_licence_status(list(inst.licences.all()), date.today()) == inst.licence_status
        assert inst.competent_department_id == competent_department_for(inst.kind, inst.division_code).pk
    assert Licence.objects.exists()


def test_staff_ids_are_valid_and_encrypted(seeded):
    staff = list(Staff.objects.all()[:50])
    assert staff
    for s in staff:
        rid = decrypt(s.resident_id_encrypted)
        assert ric.is_valid(rid)
        assert s.resident_id_masked == rid[:6] + "*" * 8 + rid[-4:]
    assert any(s.lacks_qualification for s in Staff.objects.filter(teaches_subject=True))


def test_every_role_has_a_demo_user(seeded):
    for role in Role.values:
        assert Membership.objects.filter(role=role, active=True).exists(), role
    user = User.objects.get(username="officer")
    assert user.check_password(demo.DEMO_PASSWORD)
    out = StringIO()
    call_command("demo_logins", "--url", "http://127.0.0.1:8000/", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000/" in text and demo.DEMO_PASSWORD in text
    for username, _, _ in demo.DEMO_USERS:
        assert username in text


def test_if_empty_is_idempotent(seeded):
    before = (Institution.objects.count(), User.objects.count(), AuditEvent.objects.count())
    call_command("seed_demo", "--scale", "district", "--if-empty", stdout=StringIO())
    assert (Institution.objects.count(), User.objects.count(), AuditEvent.objects.count()) == before


def test_audit_chain_verifies(seeded):
    seeded_or_approved = AuditEvent.objects.filter(action__in=["institution.seed", "institution.create"])
    assert seeded_or_approved.count() == Institution.objects.count()
    assert audit_verify().ok


def test_rules_in_force_are_in_the_demo(seeded):
    """Applications in every state (the overdue one past its time limit, the approved one
    with its permit), a person banned by another authority with a refused hire and one
    banned by a penalty decision, institutions with disclosure gaps (none of them
    whitelisted) and training-hours violations."""
    from datetime import date

    from qinglang.enforcement.models import PenaltyCase
    from qinglang.registry.models import Application, ApplicationStatus, HoursViolation, PracticeBan
    from qinglang.registry.services.disclosure import disclosure_gaps

    apps = Application.objects.all()
    assert set(apps.values_list("status", flat=True)) == set(ApplicationStatus.values)
    today = date.today()
    assert any(a.overdue_on(today) for a in apps.filter(status="submitted"))
    assert any(not a.overdue_on(today) for a in apps.filter(status="submitted"))
    approved = apps.get(status="approved")
    permit = approved.institution.licences.get(kind="school_permit")
    assert permit.number == approved.permit_number and permit.issuer == approved.department.name
    assert approved.institution.competent_department_id == approved.department_id
    draft = apps.get(status="draft")
    assert draft.submitted_by_id == User.objects.get(username="inst-admin").pk and draft.number is None
    assert apps.get(status="correcting").correction_note
    ban = PracticeBan.objects.get(source="other_authority")
    assert ban.division_code == "510104" and ban.refused_hires == 1
    assert not Staff.objects.filter(resident_id_digest=ban.resident_id_digest).exists()
    # 限制从业 from a penalty case: the decision bans a teacher of the county and the ban
    # cites it; the person is on the list by the digest of the resident ID
    decided = PracticeBan.objects.get(source="penalty_decision")
    case = PenaltyCase.objects.get(number=decided.decision_no)
    assert case.status == "decided" and case.division_code == decided.division_code
    assert str(case.decision.pk) == decided.source_ref
    assert set(case.decision.penalties.values_list("kind", flat=True)) == {"warning", "practice_ban"}
    teacher = Staff.objects.get(resident_id_digest=decided.resident_id_digest)
    assert teacher.institution_id == case.institution_id and decided.ends_on > today
    active = Institution.objects.filter(status=InstitutionStatus.ACTIVE).prefetch_related(
        "licences", "disclosures"
    )
    gaps = {i.pk: disclosure_gaps(i) for i in active}
    assert sum(1 for g in gaps.values() if g) >= 10
    assert not any(gaps[i.pk] for i in active if i.whitelisted)
    v = HoursViolation.objects.all()
    assert v.filter(refused=True).exists() and v.filter(refused=False).exists()
    assert {"subject.no_training_on_rest_days", "training.latest_end_offline"} <= set(
        v.values_list("rule", flat=True)
    )
