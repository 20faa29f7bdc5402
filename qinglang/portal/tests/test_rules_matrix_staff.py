"""The staff rules (看好人) through the API (on a token) and the pages: a subject teacher
without a teacher qualification, and anyone never background-checked, kept off a course's
timetable; an unvetted person keeps the institution off the whitelist; a subject
application whose teachers are not all qualified is not approved. Each rule on (the
national default) and off (the city's own figure); each refusal names the key, the
value, the division that set it and the basis."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from qinglang.registry import services as registry
from qinglang.registry.models import Application, CourseSlot
from qinglang.testing import FULL_DISCLOSURE, make_institution, make_user

from .rule_checks import CITY, assert_cites, assert_refused, city_sets, post_json, token_client
from .test_rules_matrix_registry import _slot as timetable_line

pytestmark = pytest.mark.django_db
QUALIFICATION = "staff.subject_teacher_needs_qualification"
BACKGROUND = "staff.background_check_required"
CHECKED_ON = date(2026, 1, 5)


def _subject_course():
    admin = make_user("platform_admin")
    inst = make_institution(admin, category="subject", kind="subject")
    course = registry.course_create(
        actor=admin,
        institution_id=inst.pk,
        data={"name": "初中数学", "kind": "subject", "stage": "junior", "lessons": 10, "unit_price_fen": 100},
    )
    return admin, inst, course, make_user("institution_admin", institution_id=inst.pk)


def _teacher(admin, inst, name: str, *, qualified: bool, checked: bool):
    data = {"name": name, "teaches_subject": True}
    if qualified:
        data["teacher_qualification_no"] = "20205100000007"
    if checked:
        data["background_check_on"] = CHECKED_ON
    return registry.staff_create(actor=admin, institution_id=inst.pk, data=data)


def _slot(teacher=None, **kw) -> dict:
    return timetable_line(teacher_id=teacher.pk if teacher else None, **kw)


# (rule, whose teacher breaks it, the refusal's words)
TIMETABLE = [
    (QUALIFICATION, {"qualified": False, "checked": True}, "无教师资格证，不得担任学科类课程教学"),
    (BACKGROUND, {"qualified": True, "checked": False}, "未经无犯罪记录查询，不得安排面向未成年人的课程"),
]


@pytest.mark.parametrize(("key", "teacher", "says"), TIMETABLE, ids=[QUALIFICATION, BACKGROUND])
def test_a_staff_rule_on_and_off_on_the_timetable_through_the_api(key, teacher, says):
    """On (national): the line with that teacher is refused, nothing written; a vetted
    teacher's line is taken. Off (成都市): the same teacher's line is taken."""
    admin, inst, course, org = _subject_course()
    breaking = _teacher(admin, inst, "王芳", **teacher)
    vetted = _teacher(admin, inst, "李明", qualified=True, checked=True)
    api = token_client(org)
    url = f"/api/registry/courses/{course.pk}/slots"
    body = assert_refused(post_json(api, url, _slot(breaking)), key, True)
    assert f"王芳{says}" in body["message"] and body["detail"]["staff_id"] == breaking.pk
    assert not CourseSlot.objects.filter(course=course).exists()
    assert post_json(api, url, _slot(vetted, weekday=2)).status_code == 201
    city_sets(key, False)
    r = post_json(api, url, _slot(breaking))
    assert r.status_code == 201, r.content
    assert set(CourseSlot.objects.filter(course=course).values_list("teacher_id", flat=True)) == {
        vetted.pk,
        breaking.pk,
    }


@pytest.mark.parametrize(("key", "teacher", "says"), TIMETABLE, ids=[QUALIFICATION, BACKGROUND])
def test_a_staff_rule_on_and_off_on_the_timetable_page(client, key, teacher, says):
    admin, inst, course, org = _subject_course()
    breaking = _teacher(admin, inst, "王芳", **teacher)
    client.force_login(org)
    url = reverse("portal:org_course_slots", args=[inst.pk, course.pk])
    form = {k: v for k, v in _slot(breaking).items() if v is not None}
    html = client.post(url, form, follow=True).content.decode()
    assert f"王芳{says}" in html and "课表已添加" not in html
    assert_cites(html, key, True)
    assert not CourseSlot.objects.filter(course=course).exists()
    city_sets(key, False)
    html = client.post(url, form, follow=True).content.decode()
    assert "课表已添加" in html and CourseSlot.objects.filter(course=course, teacher=breaking).count() == 1


def test_the_background_check_on_and_off_at_whitelisting_through_the_api(officer):
    """One active teacher never checked: refused, naming the person; one who left before
    today does not count; where 成都市 does not require the check, whitelisted."""
    admin = make_user("platform_admin")
    inst = make_institution(admin, name="武侯晨星艺术培训")
    registry.disclosure_publish(actor=admin, institution_id=inst.pk, items=FULL_DISCLOSURE)
    unvetted = registry.staff_create(
        actor=admin, institution_id=inst.pk, data={"name": "孙悦", "role": "teacher"}
    )
    api = token_client(officer)
    url = f"/api/registry/institutions/{inst.pk}/whitelist"
    body = assert_refused(post_json(api, url, {"reason": "审核"}), BACKGROUND, True)
    assert body["detail"]["staff_ids"] == [unvetted.pk]
    assert "机构有1名从业人员未经无犯罪记录查询(孙悦)，不能列入白名单" in body["message"]
    inst.refresh_from_db()
    assert not inst.whitelisted
    city_sets(BACKGROUND, False)
    r = post_json(api, url, {"reason": "审核"})
    assert r.status_code == 200 and r.json()["whitelisted"] is True


def _filing(admin, officer, qualified: int) -> Application:
    """An online subject institution's 备改审 with six teachers, ``qualified`` of them
    holding a teacher qualification (成都市 takes new subject applications)."""
    inst = make_institution(admin, category="subject", kind="subject", mode="online")
    files = {
        d: SimpleUploadedFile(f"{d}.pdf", b"%PDF-1.4\n% staff rules\n")
        for d in registry.REQUIRED_DOCUMENTS["filing_to_approval"]
    }
    data = {"institution_id": inst.pk, "planned_pupils": 500, "teachers": 6, "qualified_teachers": qualified}
    return registry.application_submit(actor=officer, kind="filing_to_approval", data=data, files=files)


@pytest.mark.parametrize(("qualified", "ok"), [(6, True), (5, False)], ids=["all", "one_short"])
def test_teacher_qualifications_at_the_decision_through_the_api(admin, officer, qualified, ok):
    city_sets("subject.new_approvals_allowed", True)
    app = _filing(admin, officer, qualified)
    education = make_user("regulator_officer", department_kind="education")
    r = post_json(
        token_client(education),
        f"/api/registry/applications/{app.pk}/decide",
        {"approve": True, "reason": "审查", "checklist": {"platform_security": True}},
    )
    app.refresh_from_db()
    if ok:
        assert r.status_code == 200 and r.json()["status"] == "approved", r.content
    else:
        body = assert_refused(r, QUALIFICATION, True)
        assert "持证5/6人" in body["message"]
        assert app.status == "submitted" and not app.permit_number


def test_the_citys_qualification_rule_off_at_the_decision_on_the_page(client, admin, officer):
    """Where 成都市 does not require it, five qualified teachers of six are approved on the
    decision page."""
    city_sets("subject.new_approvals_allowed", True)
    city_sets(QUALIFICATION, False)
    app = _filing(admin, officer, 5)
    client.force_login(make_user("regulator_officer", department_kind="education"))
    html = client.post(
        reverse("portal:application_detail", args=[app.pk]),
        {"action": "approve", "reason": "审查", "check_platform_security": "1"},
        follow=True,
    ).content.decode()
    assert "已作出准予许可决定" in html, html[:3000]
    app.refresh_from_db()
    assert app.status == "approved"
    assert app.division_code[:4] == CITY
