"""Must show: a course description held for review shows the evidence; a reviewed-genuine
course is not held again for the same text. Materials (.docx/.pdf), business scope and
clue texts are screened too."""

import io

import pytest
from django.core.exceptions import ValidationError

from qinglang.clues import services as clue_services
from qinglang.clues.models import ClueCategory
from qinglang.core.errors import IllegalTransition, NotFound, PermissionDeniedError
from qinglang.core.models import AuditEvent
from qinglang.registry import services as registry
from qinglang.registry.models import ApprovalStatus
from qinglang.screening import selectors, services
from qinglang.screening.models import HoldStatus, TextHold
from qinglang.testing import OTHER_COUNTY, TOWNSHIP, make_user

pytestmark = pytest.mark.django_db

DISGUISED = "课后同步拔高，老师讲解三年级数学应用题和计算题，每周小测。"
COURSE = {"name": "创意美术托管", "kind": "arts", "stage": "primary", "lessons": 20, "unit_price_fen": 8000}


def test_held_course_shows_evidence_and_stays_pending(arts, admin, officer):
    course = registry.course_create(
        actor=admin, institution_id=arts.pk, data={**COURSE, "description": DISGUISED}
    )
    assert course.approval_status == ApprovalStatus.PENDING
    assert course.findings and "已转监管人员复核" in course.findings[0].message
    hold = selectors.hold_list(actor=officer).get()
    assert hold.object_id == course.pk and hold.source == "course"
    assert hold.label in ("disguised_subject", "subject")
    words = {e["text"] for e in hold.evidence}
    assert {"同步", "数学"} <= words
    for e in hold.evidence:
        assert hold.text[e["start"] : e["end"]] == e["text"]
    assert AuditEvent.objects.filter(action="screening.hold", object_id=str(hold.pk)).exists()


def test_reviewed_genuine_course_is_not_held_again_for_the_same_text(arts, admin, officer):
    course = registry.course_create(
        actor=admin, institution_id=arts.pk, data={**COURSE, "description": DISGUISED}
    )
    hold = TextHold.objects.get()
    services.hold_review(actor=officer, hold_id=hold.pk, genuine=True, note="现场核实为美术课，作业看护")
    registry.course_review(actor=officer, course_id=course.pk, approve=True)
    again = registry.course_update(actor=admin, course_id=course.pk, data={"class_size": 12})
    assert again.findings == [] and again.approval_status == ApprovalStatus.APPROVED
    assert TextHold.objects.count() == 1
    # a changed text is screened afresh
    changed = registry.course_update(
        actor=admin, course_id=course.pk, data={"description": DISGUISED + "另讲初二物理浮力。"}
    )
    assert changed.findings and changed.approval_status == ApprovalStatus.PENDING
    assert TextHold.objects.filter(status=HoldStatus.HELD).count() == 1


def test_genuine_course_text_is_not_held(arts, admin):
    registry.course_create(
        actor=admin,
        institution_id=arts.pk,
        data={**COURSE, "description": "水彩与素描基础，孩子们写生、做手工，感受色彩之美。"},
    )
    assert TextHold.objects.count() == 0


def test_review_needs_a_note_a_regulator_and_happens_once(arts, admin, officer):
    registry.course_create(actor=admin, institution_id=arts.pk, data={**COURSE, "description": DISGUISED})
    hold = TextHold.objects.get()
    with pytest.raises(ValidationError):
        services.hold_review(actor=officer, hold_id=hold.pk, genuine=False, note=" ")
    with pytest.raises(NotFound):  # a parent sees no hold at all
        services.hold_review(actor=make_user("parent"), hold_id=hold.pk, genuine=True, note="看过")
    with pytest.raises(PermissionDeniedError):  # a grid worker of the place sees it but may not review
        services.hold_review(
            actor=make_user("grid_worker", prefixes=[TOWNSHIP]), hold_id=hold.pk, genuine=True, note="看过"
        )
    with pytest.raises(NotFound):
        services.hold_review(
            actor=make_user("regulator_officer", prefixes=[OTHER_COUNTY]),
            hold_id=hold.pk,
            genuine=True,
            note="看过",
        )
    hold.refresh_from_db()
    assert hold.status == HoldStatus.HELD
    services.hold_review(actor=officer, hold_id=hold.pk, genuine=False, note="确认为学科培训")
    with pytest.raises(IllegalTransition):
        services.hold_review(actor=officer, hold_id=hold.pk, genuine=True, note="改判")


def _docx(text: str) -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph(text)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _pdf(text: str) -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setFont("STSong-Light", 12)
    c.drawString(72, 700, text)
    c.save()
    return buf.getvalue()


@pytest.mark.parametrize("make", [_docx, _pdf])
def test_material_file_text_is_extracted_and_screened(arts, admin, officer, make):
    m = registry.material_submit(actor=admin, institution_id=arts.pk, data={"title": "暑期课程讲义"})
    hold = services.material_file_screen(
        actor=officer,
        material_id=m.pk,
        data=make("思维训练营讲义：五年级数学行程问题、方程与几何专题。"),
        name="讲义",
    )
    assert hold is not None and hold.source == "material" and "数学" in hold.text


def test_material_file_that_is_not_a_document_is_refused(arts, admin, officer):
    m = registry.material_submit(actor=admin, institution_id=arts.pk, data={"title": "讲义"})
    with pytest.raises(ValidationError):
        services.material_file_screen(actor=officer, material_id=m.pk, data=b"MZ\x90\x00binary", name="a.pdf")
    assert TextHold.objects.count() == 0


def test_business_scope_reading_as_subject_training_is_held(arts, officer):
    hold = services.business_scope_screen(
        actor=officer, institution_id=arts.pk, text="艺术培训；中小学生数学、英语同步辅导；托管服务"
    )
    assert hold is not None and hold.source == "business_scope"
    assert (
        services.business_scope_screen(actor=officer, institution_id=arts.pk, text="美术、书法、舞蹈培训")
        is None
    )


def test_clue_text_reading_as_disguised_training_gets_that_category(county, officer):
    report = clue_services.clue_lead_create(
        actor=officer,
        submission=clue_services.Submission(
            channel="covert_visit",
            content="小区三栋家中开班，晚上给初二学生讲数学几何，门口不挂牌",
            division_code=TOWNSHIP,
            institution_name="某小区家庭课堂",
        ),
    )
    assert report.clue.category == ClueCategory.DISGUISED_TRAINING


def test_a_confirmed_hold_raises_a_lead_and_a_second_joins_the_open_case(arts, admin, officer):
    from qinglang.clues.models import Channel, Clue

    registry.course_create(actor=admin, institution_id=arts.pk, data={**COURSE, "description": DISGUISED})
    hold = TextHold.objects.get()
    assert not Clue.objects.exists()  # held only: no lead yet
    services.hold_review(actor=officer, hold_id=hold.pk, genuine=False, note="电话核实为三年级数学同步辅导")
    hold.refresh_from_db()
    clue = Clue.objects.get()
    assert (hold.clue_id, hold.clue_reference, hold.joined_case) == (clue.pk, clue.reference, False)
    assert clue.institution_id == arts.pk and clue.first_channel == Channel.ONLINE_PATROL
    assert clue.category == ClueCategory.DISGUISED_TRAINING
    report = clue.reports.get()
    assert report.source_ref == f"HOLD-{hold.pk}" and DISGUISED in report.content
    ev = AuditEvent.objects.get(action="screening.hold.confirmed", object_id=str(hold.pk))
    assert ev.changes["clue_id"] == clue.pk and ev.changes["joined_case"] is False
    # the same institution's second course, confirmed too: joins the open case
    registry.course_create(
        actor=admin,
        institution_id=arts.pk,
        data={**COURSE, "name": "美术托管提高班", "description": DISGUISED + "周末加课。"},
    )
    second = TextHold.objects.get(status=HoldStatus.HELD)
    services.hold_review(actor=officer, hold_id=second.pk, genuine=False, note="同一机构，同样的数学同步辅导")
    second.refresh_from_db()
    assert second.clue_id == clue.pk and second.joined_case
    clue.refresh_from_db()
    assert Clue.objects.count() == 1 and clue.report_count == 2


def test_a_cleared_hold_raises_no_lead(arts, admin, officer):
    from qinglang.clues.models import Clue

    registry.course_create(actor=admin, institution_id=arts.pk, data={**COURSE, "description": DISGUISED})
    hold = TextHold.objects.get()
    services.hold_review(actor=officer, hold_id=hold.pk, genuine=True, note="现场核实为美术课，作业看护")
    hold.refresh_from_db()
    assert hold.clue_id is None and not Clue.objects.exists()


SCOPE = "艺术培训；中小学生数学、英语同步辅导；托管服务"


def test_business_scope_recorded_on_a_licence_is_held_with_its_evidence(arts, admin, officer):
    """The scope printed on a non-subject institution's business licence is screened when
    the licence is recorded; a cleared scope is not held again; a subject institution's
    scope, and a harmless one, are not held; a scope on a licence that prints none is
    refused with nothing written."""
    lic = registry.licence_set(
        actor=admin,
        institution_id=arts.pk,
        kind="business_license",
        number="91510107MA0000001X",
        business_scope=SCOPE,
    )
    assert lic.business_scope == SCOPE and lic.findings and "已转监管人员复核" in lic.findings[0].message
    hold = selectors.hold_list(actor=officer).get()
    assert (hold.source, hold.object_id, hold.institution_id) == ("business_scope", lic.pk, arts.pk)
    assert "营业执照经营范围" in hold.object_name and {"数学", "同步"} <= {e["text"] for e in hold.evidence}
    services.hold_review(actor=officer, hold_id=hold.pk, genuine=True, note="现场核实：仅艺术培训")
    # re-recorded with the same scope (a new validity): not held again; the scope is kept when omitted
    again = registry.licence_set(
        actor=admin, institution_id=arts.pk, kind="business_license", number="91510107MA0000001X"
    )
    assert again.business_scope == SCOPE and again.findings == [] and TextHold.objects.count() == 1
    harmless = registry.licence_set(
        actor=admin,
        institution_id=arts.pk,
        kind="business_license",
        number="91510107MA0000001X",
        business_scope="美术、书法、舞蹈培训",
    )
    assert harmless.findings == [] and TextHold.objects.count() == 1
    before = (AuditEvent.objects.count(), list(arts.licences.values_list("kind", "business_scope")))
    with pytest.raises(ValidationError) as e:
        registry.licence_set(
            actor=admin,
            institution_id=arts.pk,
            kind="fire_acceptance",
            number="消验001",
            business_scope=SCOPE,
        )
    assert "business_scope" in e.value.message_dict
    assert (AuditEvent.objects.count(), list(arts.licences.values_list("kind", "business_scope"))) == before


def test_a_subject_institutions_business_scope_is_not_held(county, admin):
    from qinglang.testing import make_institution

    school = make_institution(admin, category="subject", kind="subject")
    lic = registry.licence_set(
        actor=admin,
        institution_id=school.pk,
        kind="nonprofit_registration",
        number="52510107MJ0000001A",
        business_scope=SCOPE,
    )
    assert lic.findings == [] and not TextHold.objects.exists()


def test_business_scope_through_the_api_and_the_console_page(arts, admin, officer):
    from django.test import Client

    from qinglang.accounts.services import api_token_create

    _, key = api_token_create(actor=admin, user=admin, name="licences")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    url = f"/api/registry/institutions/{arts.pk}/licences/business_license"
    r = api.put(
        url, {"number": "91510107MA0000001X", "business_scope": SCOPE}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["business_scope"] == SCOPE, r.content
    assert TextHold.objects.filter(source="business_scope", object_id=r.json()["id"]).count() == 1
    r = api.put(
        f"/api/registry/institutions/{arts.pk}/licences/food_licence",
        {"number": "JY1", "business_scope": SCOPE},
        content_type="application/json",
    )
    assert r.status_code == 422, r.content
    assert set(r.json()) >= {"code", "message", "detail"}
    assert not arts.licences.filter(kind="food_licence").exists()

    page = Client()
    page.force_login(officer)
    r = page.post(
        f"/console/institutions/{arts.pk}/licence/",
        {
            "kind": "nonprofit_registration",
            "number": "52510107MJ0000002B",
            "business_scope": "少儿英语口语同步课、小学语文阅读写作辅导",
        },
        follow=True,
    )
    body = r.content.decode()
    assert r.status_code == 200 and "证照已登记" in body and "已转监管人员复核" in body
    assert "少儿英语口语同步课" in body  # the scope is shown in the licence table
    assert TextHold.objects.filter(source="business_scope").count() == 2
