"""The registry's rules through the API (on a token) and the pages: subject approvals,
non-profit whitelisting, preschool subject courses, the school calendar's vacations and
rest days, the latest end of training, the teaching area per pupil and the disclosure
board; each at, just inside and just beyond its figure (on and off for yes/no rules), with
the city's own figure; each refusal names the key, the value, the division and the basis."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from qinglang.registry import services as registry
from qinglang.registry.models import Application, Course, CourseSlot
from qinglang.testing import FULL_DISCLOSURE, make_institution, make_user

from .rule_checks import CITY, assert_cites, assert_refused, city_sets, post_json, token_client
from .test_rules_in_force import ESTABLISH

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n% rules in force\n"


def _docs() -> dict:
    return {d: SimpleUploadedFile(f"{d}.pdf", PDF) for d in registry.REQUIRED_DOCUMENTS["establish"]}


SUBJECT = {**ESTABLISH, "name": "武侯启明学科培训中心", "category": "subject", "kind": "subject"}


# --- subject.new_approvals_allowed (yes/no) --------------------------------------------


def test_subject_approvals_off_and_on_through_the_api_and_the_page(client, officer):
    key = "subject.new_approvals_allowed"
    api = token_client(officer)
    r = api.post("/api/registry/applications", {"kind": "establish", "data": json.dumps(SUBJECT), **_docs()})
    assert_refused(r, key, False)
    client.force_login(officer)
    html = client.post(reverse("portal:applications"), {**SUBJECT, **_docs()}, follow=True).content.decode()
    assert_cites(html, key, False)
    assert not Application.objects.exists()
    city_sets(key, True)
    r = api.post("/api/registry/applications", {"kind": "establish", "data": json.dumps(SUBJECT), **_docs()})
    assert r.status_code == 201, r.content
    other = {**SUBJECT, "name": "武侯明德学科培训中心"}
    html = client.post(reverse("portal:applications"), {**other, **_docs()}, follow=True).content.decode()
    assert "申请已受理" in html and Application.objects.count() == 2


# --- subject.must_be_non_profit (yes/no) -----------------------------------------------


def _for_profit_subject():
    admin = make_user("platform_admin")
    inst = make_institution(admin, category="subject", kind="subject", nature="for_profit")
    registry.disclosure_publish(actor=admin, institution_id=inst.pk, items=FULL_DISCLOSURE)
    return inst


def test_non_profit_whitelisting_on_and_off_through_the_api_and_the_console(client, officer):
    key = "subject.must_be_non_profit"
    inst = _for_profit_subject()
    api = token_client(officer)
    url = f"/api/registry/institutions/{inst.pk}/whitelist"
    assert_refused(post_json(api, url, {"reason": "审核"}), key, True)
    client.force_login(officer)
    action = reverse("portal:institution_list_action", args=[inst.pk, "white", "add"])
    assert_cites(client.post(action, {"reason": "审核"}, follow=True).content.decode(), key, True)
    inst.refresh_from_db()
    assert not inst.whitelisted
    city_sets(key, False)
    r = post_json(api, url, {"reason": "审核"})
    assert r.status_code == 200 and r.json()["whitelisted"] is True


# --- preschool.subject_training_allowed (yes/no) ----------------------------------------

PRESCHOOL = {"name": "幼小衔接拼音", "kind": "subject", "stage": "preschool", "lessons": 10}


def test_preschool_subject_courses_off_and_on_through_the_api_and_the_page(client):
    key = "preschool.subject_training_allowed"
    inst = make_institution(category="subject", kind="subject")
    org = make_user("institution_admin", institution_id=inst.pk)
    api = token_client(org)
    url = f"/api/registry/institutions/{inst.pk}/courses"
    assert_refused(post_json(api, url, {**PRESCHOOL, "unit_price_fen": 100}), key, False)
    junior = post_json(api, url, {**PRESCHOOL, "stage": "junior", "unit_price_fen": 100})
    assert junior.status_code == 201  # the same course for junior pupils
    client.force_login(org)
    page = reverse("portal:org_courses", args=[inst.pk])
    form = {**PRESCHOOL, "lesson_minutes": 45, "unit_price": "1.00"}
    assert_cites(client.post(page, form, follow=True).content.decode(), key, False)
    assert Course.objects.filter(institution=inst).count() == 1
    city_sets(key, True)
    assert post_json(api, url, {**PRESCHOOL, "unit_price_fen": 100}).status_code == 201
    client.post(page, form)
    assert Course.objects.filter(institution=inst, stage="preschool").count() == 2


# --- the timetable: rest days, vacations, the latest end --------------------------------


def _subject_course(mode="offline"):
    inst = make_institution(category="subject", kind="subject", mode=mode)
    course = registry.course_create(
        actor=make_user("platform_admin"),
        institution_id=inst.pk,
        data={"name": "初中数学", "kind": "subject", "stage": "junior", "lessons": 10, "unit_price_fen": 100},
    )
    return inst, course, make_user("institution_admin", institution_id=inst.pk)


def _slot(**kw) -> dict:
    return {
        "weekday": 3,
        "starts_at": "18:00",
        "ends_at": "19:00",
        "term_start": "2027-03-01",
        "term_end": "2027-06-30",
        **kw,
    }


def test_rest_days_on_and_off_through_the_api():
    key = "subject.no_training_on_rest_days"
    _, course, org = _subject_course()
    api = token_client(org)
    url = f"/api/registry/courses/{course.pk}/slots"
    assert post_json(api, url, _slot(weekday=5)).status_code == 201  # Friday
    assert_refused(post_json(api, url, _slot(weekday=6)), key, True)
    city_sets(key, False)
    assert post_json(api, url, _slot(weekday=6)).status_code == 201


VACATIONS = [
    ("calendar.winter_vacation", ["01-20", "02-20"], "2027-01-19", "2027-01-20", "2027-02-20", "2027-02-21"),
    ("calendar.summer_vacation", ["07-10", "08-31"], "2027-07-09", "2027-07-10", "2027-08-31", "2027-09-01"),
]


@pytest.mark.parametrize(("key", "value", "before", "first", "last", "after"), VACATIONS)
def test_a_vacation_at_its_first_and_last_day_and_just_outside_through_the_api(
    key, value, before, first, last, after
):
    """A subject line on the day before a vacation or the day after it is taken; one on
    its first or its last day (the vacation's own days) is refused."""
    _, course, org = _subject_course()
    api = token_client(org)
    url = f"/api/registry/courses/{course.pk}/slots"
    for n, day in enumerate((before, after)):
        assert post_json(api, url, _slot(weekday=1 + n, term_start=day, term_end=day)).status_code == 201
    for day in (first, last):
        body = assert_refused(post_json(api, url, _slot(weekday=3, term_start=day, term_end=day)), key, value)
        assert body["detail"]["date"] == day
    assert CourseSlot.objects.filter(course=course).count() == 2


def test_the_citys_winter_vacation_on_the_timetable_page(client):
    inst, course, org = _subject_course()
    city_sets("calendar.winter_vacation", ["01-10", "02-10"])
    client.force_login(org)
    url = reverse("portal:org_course_slots", args=[inst.pk, course.pk])
    html = client.post(
        url, _slot(term_start="2027-01-10", term_end="2027-01-10"), follow=True
    ).content.decode()
    assert_cites(html, "calendar.winter_vacation", ["01-10", "02-10"], CITY)
    html = client.post(
        url, _slot(term_start="2027-01-09", term_end="2027-01-09"), follow=True
    ).content.decode()
    assert "课表已添加" in html and CourseSlot.objects.filter(course=course).count() == 1


LATEST_ENDS = [
    ("offline", "training.latest_end_offline", "20:30", ("20:29", "20:30", "20:31")),
    ("online", "training.latest_end_online", "21:00", ("20:59", "21:00", "21:01")),
]


@pytest.mark.parametrize("step", [0, 1, 2], ids=["inside", "at", "beyond"])
@pytest.mark.parametrize(("mode", "key", "value", "ends"), LATEST_ENDS, ids=["offline", "online"])
def test_the_latest_end_through_the_api(mode, key, value, ends, step):
    _, course, org = _subject_course(mode)
    r = post_json(
        token_client(org),
        f"/api/registry/courses/{course.pk}/slots",
        _slot(starts_at="19:00", ends_at=ends[step]),
    )
    if step == 2:
        body = assert_refused(r, key, value)
        assert f"培训结束时间{ends[2]}晚于规定时间" in body["message"]
        assert not CourseSlot.objects.filter(course=course).exists()
    else:
        assert r.status_code == 201, r.content


def test_the_citys_latest_end_offline_on_the_timetable_page(client):
    inst, course, org = _subject_course()
    city_sets("training.latest_end_offline", "20:00")
    client.force_login(org)
    url = reverse("portal:org_course_slots", args=[inst.pk, course.pk])
    html = client.post(url, _slot(starts_at="19:00", ends_at="20:01"), follow=True).content.decode()
    assert_cites(html, "training.latest_end_offline", "20:00", CITY)
    html = client.post(url, _slot(starts_at="19:00", ends_at="20:00"), follow=True).content.decode()
    assert "课表已添加" in html and CourseSlot.objects.filter(course=course).count() == 1


# --- approval.min_area_per_pupil_sqm (a floor) ------------------------------------------

CHECKLIST = {"fire_acceptance": True, "staff_ratio": True, "qualifications": True}


def _application(officer, area: int) -> Application:
    """A sports institution for 100 pupils on ``area`` m², submitted at the county's window."""
    return registry.application_submit(
        actor=officer,
        kind="establish",
        data={**ESTABLISH, "name": f"武侯体育培训{area}", "site_area_sqm": area},
        files=_docs(),
    )


@pytest.mark.parametrize(
    ("area", "ok"), [(301, True), (300, True), (299, False)], ids=["inside", "at", "beyond"]
)
def test_the_area_per_pupil_through_the_api(officer, area, ok):
    app = _application(officer, area)
    sports = make_user("regulator_officer", department_kind="sports")
    r = post_json(
        token_client(sports),
        f"/api/registry/applications/{app.pk}/decide",
        {"approve": True, "reason": "审查", "checklist": CHECKLIST},
    )
    if ok:
        assert r.status_code == 200 and r.json()["status"] == "approved", r.content
    else:
        body = assert_refused(r, "approval.min_area_per_pupil_sqm", 3.0)
        assert "生均2.99平方米(下限3)" in body["message"]
        app.refresh_from_db()
        assert app.status == "submitted"


def test_the_citys_area_per_pupil_on_the_decision_page(client, officer):
    """成都市 asks 4 m² a pupil: 350 m² for 100 pupils, enough nationally, is refused on
    the decision page naming the city's figure, the city and its basis."""
    city_sets("approval.min_area_per_pupil_sqm", 4)
    app = _application(officer, 350)
    client.force_login(make_user("regulator_officer", department_kind="sports"))
    checks = {f"check_{k}": "1" for k in CHECKLIST}
    resp = client.post(
        reverse("portal:application_detail", args=[app.pk]),
        {"action": "approve", "reason": "审查", **checks},
        follow=True,
    )
    assert_cites(resp.content.decode(), "approval.min_area_per_pupil_sqm", 4, CITY)
    app.refresh_from_db()
    assert app.status == "submitted"


# --- disclosure.required_items (a list) -------------------------------------------------


def test_the_disclosure_board_through_the_api_reads_items_by_name(officer):
    """Every required item on the board: whitelisted; one missing: refused, the refusal
    naming the missing item and the required ones by name; where the city requires fewer
    items, the same board is enough."""
    key = "disclosure.required_items"
    required = ["permit", "registration", "teachers", "fees", "content", "safety", "custody"]
    admin = make_user("platform_admin")
    api = token_client(officer)
    complete, short = make_institution(admin), make_institution(admin)
    registry.disclosure_publish(actor=admin, institution_id=complete.pk, items=FULL_DISCLOSURE)
    items = {k: v for k, v in FULL_DISCLOSURE.items() if k != "safety"}
    registry.disclosure_publish(actor=admin, institution_id=short.pk, items=items)
    r = post_json(api, f"/api/registry/institutions/{complete.pk}/whitelist", {"reason": "审核"})
    assert r.status_code == 200 and r.json()["whitelisted"] is True
    body = assert_refused(
        post_json(api, f"/api/registry/institutions/{short.pk}/whitelist", {"reason": "审核"}), key, required
    )
    assert (
        "公示栏缺少：安全管理" in body["message"]
        and "办学许可证、营业执照/登记证书、教师信息" in body["message"]
    )
    assert "permit" not in body["message"].split("[")[0]
    city_sets(key, ["permit", "registration", "teachers", "fees", "content", "custody"])
    r = post_json(api, f"/api/registry/institutions/{short.pk}/whitelist", {"reason": "审核"})
    assert r.status_code == 200 and r.json()["whitelisted"] is True
