from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from qinglang.accounts.permissions import system
from qinglang.core.audit import audit_verify
from qinglang.core.errors import DomainError, IllegalTransition, NotFound, PermissionDeniedError
from qinglang.core.models import AuditEvent
from qinglang.core.services import policy_set
from qinglang.registry import services
from qinglang.registry.models import Institution, InstitutionTransition, ListEntry
from qinglang.testing import OTHER_COUNTY, make_institution, make_user, valid_uscc


def _data(**kw):
    return {
        "name": "武侯区星光艺术培训中心",
        "category": "non_subject",
        "kind": "arts",
        "division_code": "510107001",
        "uscc": valid_uscc(9001),
        "stages": ["primary", "junior"],
        "contact_phone": "13800138000",
        **kw,
    }


def test_create_derives_competent_department_and_audits(officer):
    inst = services.institution_create(actor=officer, data=_data())
    assert inst.competent_department.kind == "culture_tourism"
    assert inst.competent_department.division_id == "510107"
    assert inst.licence_status == "unlicensed" and inst.stages == "primary,junior"
    ev = AuditEvent.objects.get(action="institution.create", object_id=str(inst.pk))
    assert ev.actor_id == officer.pk and ev.changes["name"] == [None, inst.name]


@pytest.mark.parametrize(
    "kind,dept", [("sports", "sports"), ("science_tech", "science_tech"), ("practice", "education")]
)
def test_who_supervises(officer, kind, dept):
    inst = services.institution_create(actor=officer, data=_data(kind=kind, uscc=None))
    assert inst.competent_department.kind == dept


@pytest.mark.parametrize(
    "bad,field",
    [
        ({"uscc": "91110108551385082A"}, "uscc"),
        ({"division_code": "510199001"}, "division_code"),
        ({"division_code": "abc"}, "division_code"),
        ({"contact_phone": "12345"}, "contact_phone"),
        ({"kind": "subject"}, "kind"),
        ({"stages": ["college"]}, "stages"),
    ],
)
def test_bad_input_refused_and_nothing_written(officer, bad, field):
    before = (Institution.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError) as e:
        services.institution_create(actor=officer, data=_data(**bad))
    assert field in e.value.message_dict
    assert (Institution.objects.count(), AuditEvent.objects.count()) == before


def test_officer_cannot_register_outside_scope(officer):
    with pytest.raises(PermissionDeniedError):
        services.institution_create(actor=officer, data=_data(division_code=OTHER_COUNTY))


def test_duplicate_uscc_refused(officer):
    services.institution_create(actor=officer, data=_data())
    with pytest.raises(DomainError) as e:
        services.institution_create(actor=officer, data=_data(name="另一家"))
    assert e.value.code == "duplicate_uscc"


def test_licence_matrix(officer):
    inst = services.institution_create(actor=officer, data=_data())
    services.licence_set(actor=officer, institution_id=inst.pk, kind="school_permit", number="教民151070001")
    inst.refresh_from_db()
    assert inst.licence_status == "permit_only"
    services.licence_set(actor=officer, institution_id=inst.pk, kind="business_license", number=inst.uscc)
    inst.refresh_from_db()
    assert inst.licence_status == "fully_licensed"
    services.licence_remove(actor=officer, institution_id=inst.pk, kind="school_permit", reason="吊销")
    inst.refresh_from_db()
    assert inst.licence_status == "license_only"


def test_whitelist_requires_full_licences_and_active(officer):
    inst = make_institution(officer, licensed=False)
    with pytest.raises(DomainError) as e:
        services.whitelist_add(actor=officer, institution_id=inst.pk, reason="审核")
    assert e.value.code == "not_fully_licensed"
    inst = make_institution(officer)
    services.institution_suspend(actor=officer, institution_id=inst.pk, reason="消防隐患")
    with pytest.raises(DomainError) as e:
        services.whitelist_add(actor=officer, institution_id=inst.pk, reason="审核")
    assert e.value.code == "not_active"
    assert not ListEntry.objects.filter(institution=inst).exists()


def test_subject_for_profit_cannot_be_whitelisted_names_the_rule(officer):
    inst = make_institution(officer, category="subject", kind="subject", nature="for_profit")
    with pytest.raises(DomainError) as e:
        services.whitelist_add(actor=officer, institution_id=inst.pk, reason="审核")
    assert e.value.detail["rule"] == "subject.must_be_non_profit" and e.value.detail["set_by"] == "national"


def test_status_machine_and_whitelist_side_effect(officer):
    inst = make_institution(officer, whitelisted=True)
    services.institution_suspend(actor=officer, institution_id=inst.pk, reason="停业整顿")
    inst.refresh_from_db()
    assert inst.status == "suspended" and not inst.whitelisted
    assert ListEntry.objects.get(institution=inst, list_kind="white").removed_on is not None
    services.institution_close(actor=officer, institution_id=inst.pk, reason="终止办学")
    with pytest.raises(IllegalTransition) as e:
        services.institution_reactivate(actor=officer, institution_id=inst.pk, reason="恢复")
    assert e.value.code == "illegal_transition" and e.value.detail["allowed"] == []
    assert list(
        InstitutionTransition.objects.filter(institution=inst).values_list("to_status", flat=True)
    ) == [
        "closed",
        "suspended",
    ]


def test_blacklist_takes_off_whitelist(officer):
    inst = make_institution(officer, whitelisted=True)
    services.blacklist_add(actor=officer, institution_id=inst.pk, reason="违规收费")
    inst.refresh_from_db()
    assert inst.blacklisted and not inst.whitelisted
    with pytest.raises(DomainError):
        services.whitelist_add(actor=officer, institution_id=inst.pk, reason="x")


def test_expired_licence_sweep_removes_from_whitelist(officer):
    inst = make_institution(officer, whitelisted=True)
    services.licence_set(
        actor=officer,
        institution_id=inst.pk,
        kind="school_permit",
        number="教民1",
        valid_from=date.today() - timedelta(days=400),
        valid_until=date.today() + timedelta(days=3),
    )
    assert services.whitelist_sweep_expired(day=date.today()) == 0
    assert services.whitelist_sweep_expired(day=date.today() + timedelta(days=5)) == 1
    inst.refresh_from_db()
    assert not inst.whitelisted and inst.licence_status == "license_only"
    assert audit_verify().ok


def test_periodic_task_runs_sweep(officer):
    from qinglang.registry.tasks import sweep_expired_licences

    inst = make_institution(officer, whitelisted=True)
    services.licence_set(
        actor=officer,
        institution_id=inst.pk,
        kind="school_permit",
        number="教民2",
        valid_until=date.today() - timedelta(days=1),
        valid_from=date.today() - timedelta(days=30),
    )
    inst.refresh_from_db()
    assert not inst.whitelisted  # licence_set already recomputes
    assert sweep_expired_licences.call_local() == 0


def test_institution_user_limited_to_own_profile_fields(officer):
    inst = make_institution(officer)
    other = make_institution(officer)
    user = make_user("institution_admin", institution_id=inst.pk)
    services.institution_update(actor=user, institution_id=inst.pk, data={"contact_phone": "13900139000"})
    with pytest.raises(DomainError) as e:
        services.institution_update(actor=user, institution_id=inst.pk, data={"name": "改名"})
    assert e.value.code == "forbidden_fields"
    with pytest.raises(NotFound):
        services.institution_update(
            actor=user, institution_id=other.pk, data={"contact_phone": "13900139000"}
        )


def test_inspector_cannot_write(officer):
    inst = make_institution(officer)
    inspector = make_user("inspector")
    with pytest.raises(PermissionDeniedError):
        services.institution_suspend(actor=inspector, institution_id=inst.pk, reason="x")


def test_course_guided_price_city_override(officer):
    inst = make_institution(officer, category="subject", kind="subject")
    course = {"name": "初中数学", "kind": "subject", "stage": "junior", "lessons": 20, "unit_price_fen": 8000}
    services.course_create(actor=officer, institution_id=inst.pk, data=course)  # no guided price set: allowed
    policy_set(
        actor=system("test"),
        key="guided_price.subject_per_lesson_fen",
        division_code="51",
        value=8000,
        basis="四川省指导价",
    )
    services.course_create(actor=officer, institution_id=inst.pk, data=course)  # at the limit
    policy_set(
        actor=system("test"),
        key="guided_price.subject_per_lesson_fen",
        division_code="5101",
        value=6000,
        basis="成都市指导价",
    )
    with pytest.raises(DomainError) as e:
        services.course_create(actor=officer, institution_id=inst.pk, data=course)
    assert e.value.detail["rule"] == "guided_price.subject_per_lesson_fen"
    assert e.value.detail["value"] == 6000 and e.value.detail["set_by"] == "5101"


@pytest.mark.parametrize(
    "bad", [{"unit_price_fen": -1}, {"unit_price_fen": 10.5}, {"lessons": 0}, {"stage": "college"}]
)
def test_course_bad_input(officer, bad):
    inst = make_institution(officer)
    data = {"name": "素描", "kind": "arts", "stage": "primary", "lessons": 20, "unit_price_fen": 5000, **bad}
    with pytest.raises(ValidationError):
        services.course_create(actor=officer, institution_id=inst.pk, data=data)


def test_material_review_workflow(officer):
    inst = make_institution(officer)
    user = make_user("institution_staff", institution_id=inst.pk)
    m = services.material_submit(
        actor=user, institution_id=inst.pk, data={"title": "少儿美术教程", "stage": "primary"}
    )
    with pytest.raises(ValidationError):
        services.material_review(actor=officer, material_id=m.pk, approve=False, reason="")
    m = services.material_review(actor=officer, material_id=m.pk, approve=False, reason="内容超出备案范围")
    assert m.status == "rejected" and m.reject_reason == "内容超出备案范围"
    m = services.material_resubmit(actor=user, material_id=m.pk)
    m = services.material_review(actor=officer, material_id=m.pk, approve=True)
    assert m.status == "approved"
    with pytest.raises(IllegalTransition):
        services.material_review(actor=officer, material_id=m.pk, approve=False, reason="x")
    with pytest.raises(PermissionDeniedError):
        services.material_review(actor=user, material_id=m.pk, approve=True)


def test_staff_resident_id_encrypted_and_validated(officer):
    inst = make_institution(officer)
    s = services.staff_create(
        actor=officer,
        institution_id=inst.pk,
        data={"name": "王老师", "resident_id": "11010519491231002X", "teaches_subject": True},
    )
    assert s.resident_id_masked == "110105********002X" and "1949" not in s.resident_id_encrypted
    assert s.lacks_qualification
    with pytest.raises(ValidationError):
        services.staff_create(
            actor=officer, institution_id=inst.pk, data={"name": "李", "resident_id": "110105194912310021"}
        )
    with pytest.raises(DomainError):
        services.staff_create(
            actor=officer, institution_id=inst.pk, data={"name": "王", "resident_id": "11010519491231002X"}
        )
    ev = AuditEvent.objects.get(action="staff.create")
    assert "11010519491231002X" not in str(ev.changes)


def test_site_must_be_in_county_and_township(officer):
    inst = make_institution(officer)
    with pytest.raises(ValidationError):
        services.site_create(
            actor=officer,
            institution_id=inst.pk,
            data={"name": "x", "address": "y", "division_code": "510107"},
        )
    with pytest.raises(ValidationError):
        services.site_create(
            actor=officer,
            institution_id=inst.pk,
            data={"name": "x", "address": "y", "division_code": "510104001"},
        )
    site = services.site_create(
        actor=officer,
        institution_id=inst.pk,
        data={"name": "总部", "address": "浆洗街1号", "division_code": "510107001"},
    )
    assert site.division_code == "510107001"


def test_name_search_two_character_chinese_terms_and_credit_code(officer):
    from qinglang.registry.selectors import InstitutionFilter, institution_list

    a = make_institution(officer, name="星光舞蹈培训中心")
    b = make_institution(officer, name="蹈光舞星艺术")  # has 舞 and 蹈 but not 舞蹈
    make_institution(officer, name="编程少年")

    def found(q):
        return set(
            institution_list(actor=officer, filters=InstitutionFilter(q=q)).values_list("id", flat=True)
        )

    assert found("舞蹈") == {a.pk}
    assert found("舞蹈培训") == {a.pk}
    assert found("光舞") == {a.pk, b.pk}
    assert found("舞") == {a.pk, b.pk}
    assert found(a.uscc.lower()) == {a.pk}
    services.institution_update(actor=officer, institution_id=a.pk, data={"name": "星光编程"})
    assert found("舞蹈") == set() and found("编程") >= {a.pk}
