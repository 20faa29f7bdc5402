"""Approvals — who approves supervises: submission with documents checked by content,
correction, decision within the time limit, permit, supervising department; new
subject-type applications refused at submission."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from qinglang.core.calendar import add_working_days
from qinglang.core.errors import DomainError, PermissionDeniedError
from qinglang.core.models import AuditEvent
from qinglang.core.services import policy_set
from qinglang.registry import services
from qinglang.registry.models import Application, ApplicationDocument, Institution
from qinglang.testing import FULL_DISCLOSURE, ROOT, make_institution, make_user

DAY = date.today()
EARLIER = DAY - timedelta(days=14)
PDF = b"%PDF-1.4\n% test document\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _files(kind="establish", skip=(), forged=None):
    out = {}
    for d in services.REQUIRED_DOCUMENTS[kind]:
        if d in skip:
            continue
        data = b"MZ\x90\x00 not a pdf" if d == forged else (PNG if d == "site_proof" else PDF)
        out[d] = SimpleUploadedFile(f"{d}.pdf", data)
    return out


def _establish(**kw):
    return {
        "name": "武侯飞跃体育培训中心",
        "category": "non_subject",
        "kind": "sports",
        "division_code": "510107001",
        "address": "武侯区体育路8号",
        "legal_representative": "陈刚",
        "site_area_sqm": 300,
        "planned_pupils": 100,
        "teachers": 6,
        "qualified_teachers": 2,
        **kw,
    }


@pytest.fixture
def sports_officer(db):
    return make_user("regulator_officer", department_kind="sports")


def _override(key, value):
    policy_set(
        actor=ROOT,
        key=key,
        division_code="5101",
        value=value,
        basis="成都市规定(测试)",
        effective_from=date(2025, 1, 1),
    )


def test_new_sports_institution_corrected_approved_permitted_and_whitelisted(officer, sports_officer):
    app = services.application_submit(
        actor=officer, kind="establish", data=_establish(), files=_files(), today=DAY
    )
    assert app.status == "submitted" and app.department.kind == "sports"
    assert app.due_on == add_working_days(DAY, 20)
    assert ApplicationDocument.objects.filter(application=app).count() == 6
    # only the approving department decides
    edu = make_user("regulator_officer", department_kind="education")
    with pytest.raises(PermissionDeniedError):
        services.application_request_correction(actor=edu, application_id=app.pk, note="补充")
    services.application_request_correction(
        actor=sports_officer, application_id=app.pk, note="请补充消防验收意见书原件扫描件"
    )
    app.refresh_from_db()
    assert app.status == "correcting"
    later = DAY
    services.application_resubmit(
        actor=officer,
        application_id=app.pk,
        files={"fire_acceptance": SimpleUploadedFile("fire.png", PNG)},
        today=later,
    )
    app.refresh_from_db()
    assert app.status == "submitted" and app.due_on == add_working_days(later, 20)
    # approving needs every reviewer item
    with pytest.raises(ValidationError):
        services.application_decide(
            actor=sports_officer, application_id=app.pk, approve=True, reason="符合设置标准", today=later
        )
    app = services.application_decide(
        actor=sports_officer,
        application_id=app.pk,
        approve=True,
        reason="符合设置标准",
        checklist={"fire_acceptance": True, "staff_ratio": True, "qualifications": True},
        today=later,
    )
    assert app.status == "approved" and app.checklist["area_per_pupil"]["ok"]
    inst = Institution.objects.get(pk=app.institution_id)
    permit = inst.licences.get(kind="school_permit")
    assert permit.number == app.permit_number and permit.issuer == app.department.name
    assert permit.valid_from == later and permit.valid_until == DAY.replace(year=DAY.year + 3) - timedelta(
        days=1
    )
    assert inst.competent_department_id == app.department_id and inst.competent_department_overridden
    assert list(app.transitions.values_list("to_status", flat=True)) == [
        "submitted",
        "correcting",
        "submitted",
        "approved",
    ]
    # registration, staff vetted, board complete: whitelisted
    services.licence_set(
        actor=officer, institution_id=inst.pk, kind="nonprofit_registration", number="52510107MJ0000001X"
    )
    coach = services.staff_create(
        actor=officer, institution_id=inst.pk, data={"name": "刘教练", "role": "teacher"}
    )
    services.disclosure_publish(actor=officer, institution_id=inst.pk, items=FULL_DISCLOSURE)
    with pytest.raises(DomainError) as e:
        services.whitelist_add(actor=officer, institution_id=inst.pk, reason="审核")
    assert (e.value.detail or {}).get("rule") == "staff.background_check_required", e.value.message
    services.staff_update(actor=officer, staff_id=coach.pk, data={"background_check_on": date(2026, 12, 1)})
    services.whitelist_add(actor=officer, institution_id=inst.pk, reason="审批通过，证照齐全，人员已审核")
    inst.refresh_from_db()
    assert inst.whitelisted


@pytest.mark.parametrize("allowed", [False, True])
def test_subject_application_refused_at_submission(officer, allowed):
    if allowed:
        _override("subject.new_approvals_allowed", True)
    before = (Application.objects.count(), AuditEvent.objects.count())
    data = _establish(category="subject", kind="subject", qualified_teachers=6)
    if not allowed:
        with pytest.raises(DomainError) as e:
            services.application_submit(actor=officer, kind="establish", data=data, files=_files(), today=DAY)
        d = e.value.detail
        assert (
            d["rule"] == "subject.new_approvals_allowed" and d["value"] is False and d["set_by"] == "national"
        )
        assert (Application.objects.count(), AuditEvent.objects.count()) == before
    else:
        app = services.application_submit(
            actor=officer, kind="establish", data=data, files=_files(), today=DAY
        )
        assert app.department.kind == "education"


def _area_application(officer, reviewer, area: int):
    """An establishment of ``area`` m² for 100 pupils, and its approval by ``reviewer``
    with every reviewer item confirmed (only the area per pupil left to the rule)."""
    app = services.application_submit(
        actor=officer, kind="establish", data=_establish(site_area_sqm=area), files=_files(), today=DAY
    )

    def decide():
        return services.application_decide(
            actor=reviewer,
            application_id=app.pk,
            approve=True,
            reason="审查",
            checklist={"fire_acceptance": True, "staff_ratio": True, "qualifications": True},
            today=DAY,
        )

    return app, decide


@pytest.mark.parametrize("area,ok", [(301, True), (300, True), (299, False)])
def test_area_per_pupil_at_the_limit(officer, sports_officer, area, ok):
    app, decide = _area_application(officer, sports_officer, area)

    if ok:
        assert decide().status == "approved"
    else:
        with pytest.raises(DomainError) as e:
            decide()
        assert e.value.detail["rule"] == "approval.min_area_per_pupil_sqm"
        app.refresh_from_db()
        assert (
            app.status == "submitted" and not Institution.objects.filter(name=app.proposed["name"]).exists()
        )


@pytest.mark.parametrize(
    "area,city_minimum,ok,set_by",
    [
        (350, None, True, None),
        (350, 4, False, "5101"),
        (250, None, False, "national"),
        (250, 2, True, None),
        (250, 2.5, True, None),  # at a fractional city minimum
        (249, 2.5, False, "5101"),  # just beyond it
    ],
)
def test_area_per_pupil_city_override(officer, sports_officer, area, city_minimum, ok, set_by):
    """For 100 pupils in 武侯区: 350 m² is approved under the national 3 m² per pupil and
    refused under a 成都市 minimum of 4; 250 m² the other way round under a minimum of 2.
    A refusal names the key, the value in force, who set it and the basis; the
    application stays submitted and no institution is made."""
    if city_minimum is not None:
        _override("approval.min_area_per_pupil_sqm", city_minimum)
    app, decide = _area_application(officer, sports_officer, area)

    if ok:
        assert decide().checklist["area_per_pupil"]["ok"]
        return
    with pytest.raises(DomainError) as e:
        decide()
    d = e.value.detail
    value = city_minimum or 3
    assert (d["rule"], d["value"], d["set_by"]) == ("approval.min_area_per_pupil_sqm", value, set_by)
    m = e.value.message
    assert f"生均{area / 100:.2f}平方米(下限{value:g})" in m and "approval.min_area_per_pupil_sqm" in m
    if set_by == "5101":
        assert "四川省成都市" in m and "成都市规定(测试)" in m
    else:
        assert "全国" in m and "设置标准" in m
    app.refresh_from_db()
    assert app.status == "submitted" and not Institution.objects.filter(name=app.proposed["name"]).exists()


def test_decision_days_city_override(officer):
    _override("approval.decision_days", 10)
    app = services.application_submit(
        actor=officer, kind="establish", data=_establish(), files=_files(), today=DAY
    )
    assert app.due_on == add_working_days(DAY, 10)
    # the time limit names the rule that set it: the city's 10 working days
    ev = AuditEvent.objects.get(action="application.submit", object_id=str(app.pk))
    cited = ev.changes["due_rule"]
    assert (cited["rule"], cited["value"], cited["set_by"]) == ("approval.decision_days", 10, "5101")
    assert cited["basis"] == "成都市规定(测试)"


@pytest.mark.parametrize(
    "files,field",
    [
        (_files(skip=("charter",)), "documents"),
        (_files(forged="staff_list"), "staff_list"),
    ],
)
def test_bad_documents_refused_nothing_written(officer, files, field):
    before = (Application.objects.count(), ApplicationDocument.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError) as e:
        services.application_submit(
            actor=officer, kind="establish", data=_establish(), files=files, today=DAY
        )
    assert field in e.value.message_dict
    assert (
        Application.objects.count(),
        ApplicationDocument.objects.count(),
        AuditEvent.objects.count(),
    ) == before


def test_change_close_and_conversion(admin, officer):
    inst = make_institution(admin, kind="arts", name="旧名艺术培训")
    org = make_user("institution_admin", institution_id=inst.pk)
    culture = make_user("regulator_officer", department_kind="culture_tourism")
    app = services.application_submit(
        actor=org,
        kind="change",
        data={"institution_id": inst.pk, "changes": {"name": "新名艺术培训", "address": "新址路1号"}},
        files=_files("change"),
        today=DAY,
    )
    with pytest.raises(DomainError):  # one application at a time
        services.application_submit(
            actor=org, kind="close", data={"institution_id": inst.pk}, files=_files("close"), today=DAY
        )
    services.application_decide(
        actor=culture,
        application_id=app.pk,
        approve=True,
        reason="变更合法",
        checklist={"change_lawful": True},
        today=DAY,
    )
    inst.refresh_from_db()
    assert inst.name == "新名艺术培训" and inst.address == "新址路1号"
    assert inst.licences.get(kind="school_permit").valid_from == DAY
    conv = services.application_submit(
        actor=org,
        kind="convert_nonprofit",
        data={"institution_id": inst.pk},
        files=_files("convert_nonprofit"),
    )
    services.application_decide(
        actor=culture,
        application_id=conv.pk,
        approve=True,
        reason="章程合规",
        checklist={"nonprofit_charter": True, "assets_audited": True},
    )
    inst.refresh_from_db()
    assert inst.nature == "non_profit" and inst.nonprofit_conversion == "completed"
    close = services.application_submit(
        actor=org, kind="close", data={"institution_id": inst.pk}, files=_files("close")
    )
    with pytest.raises(ValidationError):
        services.application_decide(actor=culture, application_id=close.pk, approve=False, reason="")
    services.application_decide(
        actor=culture,
        application_id=close.pk,
        approve=True,
        reason="已清算",
        checklist={"refunds_settled": True},
    )
    inst.refresh_from_db()
    assert inst.status == "closed"
    # another institution's admin cannot apply for this one
    stranger = make_user("institution_admin", institution_id=make_institution(admin).pk)
    with pytest.raises(PermissionDeniedError):
        services.application_submit(
            actor=stranger,
            kind="change",
            data={"institution_id": inst.pk, "changes": {"name": "x"}},
            files={},
        )


def test_rejection_and_withdrawal(officer, sports_officer):
    app = services.application_submit(
        actor=officer, kind="establish", data=_establish(), files=_files(), today=DAY
    )
    services.application_decide(
        actor=sports_officer, application_id=app.pk, approve=False, reason="场所不符合要求"
    )
    app.refresh_from_db()
    assert app.status == "rejected" and app.institution_id is None
    from qinglang.core.errors import IllegalTransition

    with pytest.raises(IllegalTransition):
        services.application_withdraw(actor=officer, application_id=app.pk)


def test_approvals_move_through_core_states_and_store_through_core_files(
    officer, sports_officer, settings, tmp_path
):
    """One state machine (core.states) and one file store (core.files): the history rows
    PROTECT their application, an illegal move names both statuses, the documents sit
    content-addressed in the store, and a write refused half-way leaves no file."""
    from django.db.models import ProtectedError

    from qinglang.core import files
    from qinglang.core.errors import IllegalTransition
    from qinglang.core.states import StateMachine, machine_of

    settings.MEDIA_ROOT = str(tmp_path)
    app = services.application_submit(
        actor=officer, kind="establish", data=_establish(), files=_files(), today=DAY
    )
    assert isinstance(machine_of(app), StateMachine)
    first = app.transitions.get()
    assert (first.from_status, first.to_status, first.reason) == ("submitted", "submitted", "受理")
    for d in app.documents.all():
        assert d.path == f"applications/{d.sha256[:2]}/{d.sha256}.{files.EXTENSIONS[d.content_type]}"
        with files.open_stored(d.path) as f:
            assert len(f.read()) == d.size
    assert AuditEvent.objects.filter(action="application.submit", object_id=str(app.pk)).exists()
    with pytest.raises(ProtectedError):
        Application.objects.filter(pk=app.pk).delete()
    services.application_decide(
        actor=sports_officer, application_id=app.pk, approve=False, reason="场所不符合要求"
    )
    with pytest.raises(IllegalTransition) as e:
        services.application_request_correction(actor=sports_officer, application_id=app.pk, note="补充")
    assert "不予许可 → 待补正" in e.value.message
    assert AuditEvent.objects.filter(action="application.rejected", object_id=str(app.pk)).exists()
    # a refused write (one forged document among good new ones) stores nothing
    fresh = {
        d: SimpleUploadedFile(f"{d}.pdf", PDF + d.encode()) for d in services.REQUIRED_DOCUMENTS["establish"]
    }
    fresh["staff_list"] = SimpleUploadedFile("staff.pdf", b"MZ\x90\x00 forged")
    stored = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    with pytest.raises(ValidationError):
        services.application_submit(
            actor=officer, kind="establish", data=_establish(), files=fresh, today=DAY
        )
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == stored


def test_an_organiser_drafts_then_submits_an_establishment_and_follows_it(admin, sports_officer):
    """An institution's organiser (举办者) applies to establish a new one: a draft is its
    own (the department sees nothing of it), submission checks the draft's documents and
    figures like any other, and the organiser corrects what the department asks for."""
    from qinglang.registry import selectors

    organiser = make_user("institution_admin", institution_id=make_institution(admin).pk)
    draft = services.application_draft_save(
        actor=organiser,
        kind="establish",
        data=_establish(planned_pupils=""),
        files={"application_form": SimpleUploadedFile("form.pdf", PDF)},
    )
    assert draft.status == "draft" and draft.number is None and draft.due_on is None
    assert draft.department.kind == "sports"
    assert not selectors.application_list(actor=sports_officer).filter(pk=draft.pk).exists()
    assert selectors.application_list(actor=organiser).filter(pk=draft.pk).exists()
    with pytest.raises(ValidationError) as e:  # figures and the other documents still missing
        services.application_submit(actor=organiser, draft_id=draft.pk, today=DAY)
    assert "planned_pupils" in e.value.message_dict
    rest = _files(skip=("application_form",))
    with pytest.raises(ValidationError) as e:
        services.application_submit(
            actor=organiser, draft_id=draft.pk, data={"planned_pupils": 100}, today=DAY
        )
    assert "documents" in e.value.message_dict
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.transitions.count() == 1
    app = services.application_submit(
        actor=organiser, draft_id=draft.pk, data={"planned_pupils": 100}, files=rest, today=DAY
    )
    assert app.pk == draft.pk and app.status == "submitted" and app.number
    assert app.documents.count() == 6
    assert list(app.transitions.values_list("to_status", flat=True)) == ["draft", "submitted"]
    assert selectors.application_list(actor=sports_officer).filter(pk=app.pk).exists()
    services.application_request_correction(actor=sports_officer, application_id=app.pk, note="请补充章程")
    services.application_resubmit(
        actor=organiser, application_id=app.pk, files={"charter": SimpleUploadedFile("c.pdf", PDF + b"v2")}
    )
    app.refresh_from_db()
    assert app.status == "submitted"
    # another organiser neither sees nor follows it
    other = make_user("institution_admin", institution_id=make_institution(admin).pk)
    assert not selectors.application_list(actor=other).filter(pk=app.pk).exists()
    with pytest.raises(PermissionDeniedError):
        services.application_withdraw(actor=other, application_id=app.pk)


def test_migration_moves_existing_rows_onto_the_helpers(officer, settings, tmp_path):
    """registry 0008: first rows written before core.states get from == to; a document
    that default storage had saved under another name is put at its content address."""
    import importlib

    from django.apps import apps as django_apps

    from qinglang.core import files
    from qinglang.registry.models import ApplicationTransition

    settings.MEDIA_ROOT = str(tmp_path)
    mig = importlib.import_module("qinglang.registry.migrations.0008_approvals_on_core_states")
    app = services.application_submit(
        actor=officer, kind="establish", data=_establish(), files=_files(), today=DAY
    )
    ApplicationTransition.objects.filter(application=app).update(from_status="")
    doc = app.documents.first()
    with files.open_stored(doc.path) as f:
        data = f.read()
    (tmp_path / "applications" / "old_Ab12xY.pdf").write_bytes(data)
    (tmp_path / doc.path).unlink()
    canonical = doc.path
    ApplicationDocument.objects.filter(pk=doc.pk).update(path="applications/old_Ab12xY.pdf")
    mig.to_core_states_and_store(django_apps, None)
    doc.refresh_from_db()
    assert doc.path == canonical and (tmp_path / canonical).read_bytes() == data
    assert app.transitions.get().from_status == "submitted"


# --- 备改审: an online institution moves from filing to approval ----------------------------


def _filing(inst, **kw):
    return {"institution_id": inst.pk, "planned_pupils": 500, "teachers": 6, "qualified_teachers": 6, **kw}


def test_filing_to_approval_issues_the_permit_and_the_approver_supervises(admin):
    inst = make_institution(admin, kind="arts", mode="online", name="线上少儿美术")
    org = make_user("institution_admin", institution_id=inst.pk)
    culture = make_user("regulator_officer", department_kind="culture_tourism")
    with pytest.raises(ValidationError) as e:  # its own documents, not an establishment's
        services.application_submit(
            actor=org, kind="filing_to_approval", data=_filing(inst), files=_files(), today=DAY
        )
    assert "documents" in e.value.message_dict and not Application.objects.exists()
    app = services.application_submit(
        actor=org,
        kind="filing_to_approval",
        data=_filing(inst),
        files=_files("filing_to_approval"),
        today=DAY,
    )
    assert app.status == "submitted" and app.department.kind == "culture_tourism"
    assert app.due_on == add_working_days(DAY, 20)
    with pytest.raises(ValidationError) as e:  # the reviewer confirms the platform's security
        services.application_decide(
            actor=culture, application_id=app.pk, approve=True, reason="符合", checklist={}, today=DAY
        )
    assert "平台网络安全" in str(e.value)
    app = services.application_decide(
        actor=culture,
        application_id=app.pk,
        approve=True,
        reason="平台已通过等级保护测评",
        checklist={"platform_security": True, "qualifications": True},
        today=DAY,
    )
    assert app.status == "approved" and app.permit_number.startswith("教民510107")
    inst.refresh_from_db()
    permit = inst.licences.get(kind="school_permit")
    assert (permit.number, permit.issuer, permit.valid_from) == (app.permit_number, app.department.name, DAY)
    assert inst.competent_department_id == app.department_id


def test_filing_to_approval_only_for_online_institutions(admin, officer):
    inst = make_institution(admin, kind="arts")  # offline
    before = (Application.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError) as e:
        services.application_submit(
            actor=officer,
            kind="filing_to_approval",
            data=_filing(inst),
            files=_files("filing_to_approval"),
            today=DAY,
        )
    assert e.value.message_dict["kind"] == ["备改审仅适用于线上机构"]
    assert (Application.objects.count(), AuditEvent.objects.count()) == before


def test_subject_filing_to_approval_refused_at_submission_unless_the_city_allows(admin, officer):
    """``subject.new_approvals_allowed`` (national: no) refuses a subject-type 备改审 at
    submission, naming the rule; where 成都市 allows it, the application is taken and its
    teachers' qualifications are checked against ``staff.subject_teacher_needs_qualification``."""
    inst = make_institution(admin, category="subject", kind="subject", mode="online")
    files = _files("filing_to_approval")
    before = (Application.objects.count(), AuditEvent.objects.count())
    with pytest.raises(DomainError) as e:
        services.application_submit(
            actor=officer, kind="filing_to_approval", data=_filing(inst), files=files, today=DAY
        )
    d = e.value.detail
    assert (d["rule"], d["value"], d["set_by"], d["kind"]) == (
        "subject.new_approvals_allowed",
        False,
        "national",
        "filing_to_approval",
    )
    assert "备改审" in e.value.message and "subject.new_approvals_allowed" in e.value.message
    assert (Application.objects.count(), AuditEvent.objects.count()) == before
    _override("subject.new_approvals_allowed", True)
    app = services.application_submit(
        actor=officer,
        kind="filing_to_approval",
        data=_filing(inst, qualified_teachers=5),
        files=_files("filing_to_approval"),
        today=DAY,
    )
    assert app.department.kind == "education"
    education = make_user("regulator_officer", department_kind="education")
    with pytest.raises(DomainError) as e:
        services.application_decide(
            actor=education,
            application_id=app.pk,
            approve=True,
            reason="审查",
            checklist={"platform_security": True},
            today=DAY,
        )
    assert e.value.detail["rule"] == "staff.subject_teacher_needs_qualification"
    assert "持证5/6人" in e.value.message
    app.refresh_from_db()
    assert app.status == "submitted" and not app.permit_number
