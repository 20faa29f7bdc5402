"""The registry's rules where they bite across apps and on pages: materials before sale
(funds' orders), training hours of recorded lessons (funds' lessons), the practice ban
from a penalty decision (enforcement), the console, institution end and public pages."""

import json
from datetime import date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from qinglang.core.errors import DomainError
from qinglang.core.services import policy_set
from qinglang.enforcement import services as enforcement
from qinglang.funds.testing import funds_world, paid_order, term_input
from qinglang.registry import services as registry
from qinglang.registry.models import HoursViolation, PracticeBan, Staff
from qinglang.testing import FULL_DISCLOSURE, OTHER_COUNTY, ROOT, make_institution, make_user

pytestmark = pytest.mark.django_db
RID = "11010519491231002X"


def _override(key, value):
    policy_set(
        actor=ROOT,
        key=key,
        division_code="5101",
        value=value,
        basis="成都市规定(测试)",
        effective_from=date(2025, 1, 1),
    )


def _post(client, url, body):
    return client.post(url, data=json.dumps(body, default=str), content_type="application/json")


def _order_body(w):
    d = term_input(w.course, lessons=10)
    return {
        "course_id": d.course_id,
        "learner_name": "小明",
        "lessons": 10,
        "starts_on": d.starts_on,
        "ends_on": d.ends_on,
    }


# --- materials.review_required: a course with unreviewed materials is not sold ------------


def test_materials_review_blocks_sale_through_the_api(client):
    w = funds_world()
    m = registry.material_submit(
        actor=w.admin,
        institution_id=w.institution.pk,
        data={"title": "少儿美术讲义", "course_id": w.course.pk},
    )
    client.force_login(w.parent)
    r = _post(client, "/api/funds/orders", _order_body(w))
    assert r.status_code == 422
    body = r.json()
    assert body["detail"]["rule"] == "materials.review_required" and "少儿美术讲义" in body["message"]
    assert body["detail"]["set_by"] == "national" and "依据" in body["message"]
    registry.material_review(actor=w.admin, material_id=m.pk, approve=False, reason="内容超纲")
    assert _post(client, "/api/funds/orders", _order_body(w)).status_code == 422  # rejected: still refused
    registry.material_resubmit(actor=w.org_user, material_id=m.pk)
    registry.material_review(actor=w.admin, material_id=m.pk, approve=True)
    assert _post(client, "/api/funds/orders", _order_body(w)).status_code == 201


def test_materials_review_city_override(client):
    w = funds_world()
    registry.material_submit(
        actor=w.admin, institution_id=w.institution.pk, data={"title": "讲义", "course_id": w.course.pk}
    )
    _override("materials.review_required", False)
    client.force_login(w.parent)
    assert _post(client, "/api/funds/orders", _order_body(w)).status_code == 201


# --- training hours of recorded lessons ---------------------------------------------------


def _lesson(client, w, order, event, when):
    return _post(
        client,
        f"/api/funds/institutions/{w.institution.pk}/lessons",
        {"order_id": order.pk, "event_id": event, "given_at": when.isoformat()},
    )


def _day(order, *, working: bool):
    """The first working day (or rest day) within the order's dates: lessons dated before
    an order starts are refused on their own account."""
    from qinglang.core.calendar import is_working_day

    d = order.starts_on
    while is_working_day(d) != working or (not working and d.weekday() != 5):
        d += timedelta(days=1)
    assert d <= order.ends_on
    return d


def _at(d, hh, mm):
    return timezone.make_aware(datetime.combine(d, time(hh, mm)))


def test_subject_lesson_outside_hours_refused_and_recorded(client):
    w = funds_world(category="subject", kind="subject")
    order = paid_order(w)
    client.force_login(w.org_user)
    r = _lesson(client, w, order, "sat-1", _at(_day(order, working=False), 10, 0))  # a Saturday
    assert r.status_code == 422 and r.json()["detail"]["rule"] == "subject.no_training_on_rest_days"
    v = HoursViolation.objects.get(institution=w.institution)
    assert v.refused and v.rule == "subject.no_training_on_rest_days"
    order.refresh_from_db()
    assert order.lessons_consumed == 0
    # a weekday lesson ending at 20:30 is taken
    r = _lesson(client, w, order, "wed-1", _at(_day(order, working=True), 19, 45))
    assert r.status_code == 200 and r.json()["result"] == "accepted", r.json()
    # winter vacation set by the city: refused, naming the city
    _override("calendar.winter_vacation", ["12-01", "12-31"])
    r = _lesson(client, w, order, "wed-2", _at(_day(order, working=True), 10, 0))
    assert r.status_code == 422
    d = r.json()["detail"]
    assert d["rule"] == "calendar.winter_vacation" and d["set_by"] == "5101"


def test_non_subject_late_lesson_taken_with_violation_seen_by_inspector(client):
    w = funds_world()
    order = paid_order(w)
    client.force_login(w.org_user)
    r = _lesson(client, w, order, "late-1", _at(_day(order, working=True), 20, 0))
    assert r.status_code == 200 and r.json()["result"] == "accepted", r.json()
    v = HoursViolation.objects.get(institution=w.institution)
    assert not v.refused and v.rule == "training.latest_end_offline"
    inspector = make_user("inspector")
    client.force_login(inspector)
    r = client.get(f"/api/registry/institutions/{w.institution.pk}/hours-violations")
    assert r.status_code == 200 and r.json()[0]["rule"] == "training.latest_end_offline"
    html = client.get(
        reverse("portal:institution_detail", args=[w.institution.pk]) + "?tab=rules"
    ).content.decode()
    assert "20:45" in html and "training.latest_end_offline" in html and "已记录课时" in html


def test_preschool_subject_course_refused():
    inst = make_institution(category="subject", kind="subject")
    admin = make_user("platform_admin")
    with pytest.raises(DomainError) as e:
        registry.course_create(
            actor=admin,
            institution_id=inst.pk,
            data={
                "name": "幼小衔接拼音",
                "kind": "subject",
                "stage": "preschool",
                "lessons": 10,
                "unit_price_fen": 100,
            },
        )
    assert e.value.detail["rule"] == "preschool.subject_training_allowed"


# --- practice ban from a penalty decision, hire refused in another county -------------------


def test_ban_from_penalty_decision_refuses_hire_in_another_county(client, leader):
    admin = make_user("platform_admin")
    inst = make_institution(admin)
    person = registry.staff_create(
        actor=admin,
        institution_id=inst.pk,
        data={"name": "周伟", "resident_id": RID, "background_check_on": date(2026, 1, 5)},
    )
    case = enforcement.case_file(
        actor=leader,
        institution_id=inst.pk,
        case_type="disguised_training",
        origin="inspection",
        facts="违规从业",
    )
    with pytest.raises(ValidationError) as e:
        enforcement.case_decide(
            actor=leader, case_id=case.pk, penalties=[{"kind": "practice_ban"}], reasoning="限制从业"
        )
    assert "banned" in e.value.message_dict and not PracticeBan.objects.exists()
    decision = enforcement.case_decide(
        actor=leader,
        case_id=case.pk,
        penalties=[{"kind": "practice_ban"}],
        reasoning="该人员以托管名义开展学科类培训，限制从业",
        banned=[{"staff_id": person.pk}],
    )
    ban = PracticeBan.objects.get()
    assert ban.decision_no == case.number and ban.resident_id_digest == person.resident_id_digest
    assert {"effect": "practice_ban", "ban_id": ban.pk} in decision.effects
    # another county of the same province: its institution's admin tries to hire him
    other = make_institution(admin, division_code=OTHER_COUNTY)
    org = make_user("institution_admin", institution_id=other.pk)
    client.force_login(org)
    before = Staff.objects.count()
    r = _post(client, f"/api/registry/institutions/{other.pk}/staff", {"name": "周伟", "resident_id": RID})
    assert r.status_code == 422
    body = r.json()
    assert body["message"] == registry.NOT_ELIGIBLE_MESSAGE and body["detail"] is None
    assert case.number not in r.content.decode() and "处罚" not in body["message"]
    # and the page says the same, nothing more
    resp = client.post(
        reverse("portal:org_staff", args=[other.pk]), {"name": "周伟", "resident_id": RID, "role": "teacher"}
    )
    html = resp.content.decode()
    assert "不符合从业条件" in html and case.number not in html
    assert Staff.objects.count() == before
    # the regulator's list shows the ban; the institution cannot read it
    assert client.get("/api/registry/practice-bans").json() == []
    client.force_login(leader)
    html = client.get(reverse("portal:practice_bans")).content.decode()
    assert case.number in html and RID not in html


def test_ban_entered_from_another_authority_on_the_page(client, officer):
    client.force_login(officer)
    resp = client.post(
        reverse("portal:practice_bans"),
        {
            "resident_id": RID,
            "name": "钱某",
            "division_code": "510107",
            "authority": "武侯区人民法院",
            "decision_no": "(2026)川0107刑初9号",
            "starts_on": "2026-01-01",
            "ends_on": "2025-01-01",
            "basis": "刑事判决书",
        },
        follow=True,
    )
    assert "截止日期不能早于起始日期" in resp.content.decode() and not PracticeBan.objects.exists()
    client.post(
        reverse("portal:practice_bans"),
        {
            "resident_id": RID,
            "name": "钱某",
            "division_code": "510107",
            "authority": "武侯区人民法院",
            "decision_no": "(2026)川0107刑初9号",
            "starts_on": "2026-01-01",
            "basis": "刑事判决书",
        },
    )
    assert PracticeBan.objects.get().source == "other_authority"


# --- pages: timetable, disclosure board, gaps, printable board ------------------------------


def _course_and_admin(inst, **course):
    """The institution, a course of it (made by the platform admin) and its administrator."""
    c = registry.course_create(
        actor=make_user("platform_admin"),
        institution_id=inst.pk,
        data={**course, "lessons": 10, "unit_price_fen": 100},
    )
    return inst, c, make_user("institution_admin", institution_id=inst.pk)


def test_timetable_page_refuses_with_the_rule(client):
    inst, course, org = _course_and_admin(
        make_institution(category="subject", kind="subject"), name="初中数学", kind="subject", stage="junior"
    )
    client.force_login(org)
    url = reverse("portal:org_course_slots", args=[inst.pk, course.pk])
    data = {
        "weekday": "6",
        "starts_at": "09:00",
        "ends_at": "10:00",
        "term_start": "2026-09-07",
        "term_end": "2026-12-31",
    }
    html = client.post(url, data, follow=True).content.decode()
    assert "subject.no_training_on_rest_days" in html and "全国" in html
    html = client.post(url, {**data, "weekday": "3", "ends_at": "08:00"}, follow=True).content.decode()
    assert "结束时间须晚于开始时间" in html
    html = client.post(url, {**data, "weekday": "3"}, follow=True).content.decode()
    assert "课表已添加" in html and "周三" in html


def test_disclosure_pages_and_whitelist_gate(client, officer):
    inst = make_institution(name="武侯童心艺术培训")
    org = make_user("institution_admin", institution_id=inst.pk)
    client.force_login(officer)
    html = client.get(reverse("portal:disclosure_gaps")).content.decode()
    assert "武侯童心艺术培训" in html and "资金监管" in html
    resp = client.post(
        reverse("portal:institution_list_action", args=[inst.pk, "white", "add"]),
        {"reason": "审核"},
        follow=True,
    )
    assert "disclosure.required_items" in resp.content.decode()
    client.force_login(org)
    client.post(reverse("portal:org_disclosure", args=[inst.pk]), FULL_DISCLOSURE)
    html = client.get(reverse("portal:org_disclosure", args=[inst.pk])).content.decode()
    assert "缺项" not in html.split('id="board"')[1].split("</table>")[0]
    client.force_login(officer)
    assert "武侯童心艺术培训" not in client.get(reverse("portal:disclosure_gaps")).content.decode()
    client.post(reverse("portal:institution_list_action", args=[inst.pk, "white", "add"]), {"reason": "审核"})
    inst.refresh_from_db()
    assert inst.whitelisted
    client.logout()
    html = client.get(reverse("portal:public_institution", args=[inst.pk])).content.decode()
    assert (
        'id="required-items"' in html and "缺项" not in html.split('id="required-items"')[1].split("</ul>")[0]
    )
    r = client.get(reverse("portal:public_board_pdf", args=[inst.pk]))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content[:5] == b"%PDF-"
    from reportlab.lib.pagesizes import A3

    assert f"/MediaBox [ 0 0 {A3[0]:g} {A3[1]:g} ]".encode() in r.content or b"841.8898 1190.551" in r.content
    # an institution that is on neither list has no public board
    assert client.get(reverse("portal:public_board_pdf", args=[make_institution().pk])).status_code == 404
    # the public API gives the same board
    r = client.get(f"/api/public/institutions/{inst.pk}/disclosure")
    assert r.status_code == 200 and all(b["present"] for b in r.json())


# --- approvals through the API and the pages -------------------------------------------------


def _docs(kind="establish"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return {d: SimpleUploadedFile(f"{d}.pdf", b"%PDF-1.4\n%x\n") for d in registry.REQUIRED_DOCUMENTS[kind]}


ESTABLISH = {
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
}


def test_approvals_api(client, officer):
    client.force_login(officer)
    r = client.post(
        "/api/registry/applications", {"kind": "establish", "data": json.dumps(ESTABLISH), **_docs()}
    )
    assert r.status_code == 201, r.content
    app = r.json()
    assert app["status"] == "submitted" and len(app["documents"]) == 6
    subject = {**ESTABLISH, "category": "subject", "kind": "subject"}
    r = client.post(
        "/api/registry/applications", {"kind": "establish", "data": json.dumps(subject), **_docs()}
    )
    assert r.status_code == 422 and r.json()["detail"]["rule"] == "subject.new_approvals_allowed"
    docs = _docs()
    docs.pop("charter")
    r = client.post(
        "/api/registry/applications", {"kind": "establish", "data": json.dumps(ESTABLISH), **docs}
    )
    assert r.status_code == 422 and "章程" in r.json()["message"]
    r = client.post("/api/registry/applications", {"kind": "establish", "data": "not json", **_docs()})
    assert r.status_code in (400, 422)
    sports = make_user("regulator_officer", department_kind="sports")
    client.force_login(sports)
    r = _post(client, f"/api/registry/applications/{app['id']}/correction", {"note": "补充章程"})
    assert r.status_code == 200 and r.json()["status"] == "correcting"
    client.force_login(officer)
    r = client.post(f"/api/registry/applications/{app['id']}/resubmit", {"data": "{}"})
    assert r.status_code == 200 and r.json()["status"] == "submitted"
    client.force_login(sports)
    r = _post(
        client,
        f"/api/registry/applications/{app['id']}/decide",
        {
            "approve": True,
            "reason": "符合",
            "checklist": {"fire_acceptance": True, "staff_ratio": True, "qualifications": True},
        },
    )
    assert r.status_code == 200 and r.json()["permit_number"]
    overview = client.get("/api/registry/applications/overview").json()
    assert overview["pending"] == []


def test_approvals_pages(client, officer, admin):
    sports = make_user("regulator_officer", department_kind="sports")
    client.force_login(officer)
    resp = client.post(reverse("portal:applications"), {**ESTABLISH, **_docs()}, follow=True)
    html = resp.content.decode()
    assert "申请已受理" in html
    from qinglang.registry.models import Application

    app = Application.objects.get()
    html = client.get(reverse("portal:applications")).content.decode()
    assert app.number in html and "体育局" in html and str(app.due_on) in html
    # a forged document on the page: refused, nothing written
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = {**_docs(), "staff_list": SimpleUploadedFile("staff.pdf", b"MZ\x90\x00exe")}
    html = client.post(reverse("portal:applications"), {**ESTABLISH, **bad}, follow=True).content.decode()
    assert "不是允许的类型" in html and Application.objects.count() == 1
    client.force_login(sports)
    url = reverse("portal:application_detail", args=[app.pk])
    html = client.post(
        url, {"action": "approve", "reason": "符合", "check_fire_acceptance": "1"}, follow=True
    ).content.decode()
    assert "请核对审查要点" in html or "不符合" in html
    html = client.post(
        url,
        {
            "action": "approve",
            "reason": "符合",
            "check_fire_acceptance": "1",
            "check_staff_ratio": "1",
            "check_qualifications": "1",
        },
        follow=True,
    ).content.decode()
    assert "已作出准予许可决定" in html and "许可证号" in html
    # 营转非 completion rate on the console
    inst = make_institution(admin, category="subject", kind="subject", nonprofit_conversion="completed")
    make_institution(admin, category="subject", kind="subject", nonprofit_conversion="pending")
    client.force_login(officer)
    html = client.get(reverse("portal:applications")).content.decode()
    assert 'id="conversion-rate">50%' in html.replace("\n", "").replace(" ", "") or "50%" in html
    # the institution end applies for a change
    org = make_user("institution_admin", institution_id=inst.pk)
    client.force_login(org)
    html = client.post(
        reverse("portal:org_applications", args=[inst.pk]),
        {"kind": "change", "change_address": "新址路9号", **_docs("change")},
        follow=True,
    ).content.decode()
    assert "申请已提交" in html and "变更" in html


def test_hours_violations_are_items_of_the_next_campaigns_checklist(client):
    """A violation recorded for an institution becomes the follow-up item R01 of its next
    inspection's checklist (with the violations listed), must be answered, and is not
    asked again once inspected; an institution without violations gets no such item."""
    from qinglang.inspections import services as inspections
    from qinglang.inspections.checklists import task_items
    from qinglang.inspections.models import Task
    from qinglang.inspections.tests.helpers import answer_all, campaign_data, inspectors

    w = funds_world()
    order = paid_order(w)
    client.force_login(w.org_user)
    r = _lesson(client, w, order, "late-1", _at(_day(order, working=True), 20, 0))
    assert r.status_code == 200
    clean = make_institution(name="守时艺术培训中心", kind="arts")
    leader = make_user("regulator_leader")
    team = inspectors(2)
    c = inspections.campaign_create(
        actor=leader, data=campaign_data(starts_on=date.today(), ends_on=date.today() + timedelta(days=30))
    )
    inspections.campaign_draw(actor=leader, campaign_id=c.pk, share=1.0, seed="hours", today=date.today())
    task = Task.objects.get(campaign=c, institution=w.institution)
    items, violations = task_items(task)
    assert items[-1].code == "R01" and [v.rule for v in violations] == ["training.latest_end_offline"]
    assert "R01" not in [i.code for i in task_items(Task.objects.get(campaign=c, institution=clean))[0]]
    member = next(u for u in team if task.team.members.filter(user_id=u.pk).exists())
    client.force_login(member)
    html = client.get(reverse("portal:task_detail", args=[task.pk])).content.decode()
    assert "R01" in html and 'id="hours-violations"' in html and "training.latest_end_offline" in html
    # the follow-up must be answered
    partial = [r for r in answer_all(task) if r["item_id"] != items[-1].pk]
    with pytest.raises(ValidationError):
        inspections.inspection_record_submit(
            actor=member, task_id=task.pk, inspected_on=date.today(), results=partial
        )
    inspections.inspection_record_submit(
        actor=member,
        task_id=task.pk,
        inspected_on=date.today(),
        results=answer_all(task, findings={"R01": "rectification"}),
    )
    assert task.record.results.get(item=items[-1]).outcome == "rectification"
    # the checklist page of templates does not offer the follow-up template
    client.force_login(leader)
    assert "跟进事项(平台生成)" not in client.get(reverse("portal:checklist_list")).content.decode()
    # once inspected, the violation is not asked again; a later one is
    from qinglang.inspections.checklists import hours_violations_to_follow

    assert hours_violations_to_follow(w.institution.pk).count() == 0
    client.force_login(w.org_user)
    r = _lesson(client, w, order, "late-2", _at(_day(order, working=True) + timedelta(days=7), 20, 0))
    assert r.status_code == 200
    assert hours_violations_to_follow(w.institution.pk).count() == 1


def test_the_rules_pages_speak_english(client, officer, settings):
    """Chosen English, the rules pages have no Chinese of their own (names of the data
    excepted): the gaps list, the ban list, the applications, and an institution's board,
    applications and timetable."""
    import re

    inst, course, org = _course_and_admin(
        make_institution(name="武侯童心艺术培训"), name="少儿美术", kind="arts", stage="primary"
    )
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    def own_text(url, *data):
        html = client.get(url).content.decode()
        assert client.get(url).status_code == 200, url
        main = html.split("<main", 1)[-1].split("</main>", 1)[0]
        main = re.sub(r'<td class="small">.*?</td>', "", main, flags=re.S)  # the registry's lines
        text = re.sub(r"<[^>]+>", " ", main)
        for d in (
            *data,
            "武侯区",
            "成都市",
            "四川省",
            "浆洗街街道",
            "浆洗街道",
            "教育局",
            "正常办学",
        ):  # data; the status from the institution's shared navigation
            text = text.replace(d, "")
        return re.findall(r"[\u4e00-\u9fff]+", text)

    client.force_login(officer)
    assert (
        "Institutions with disclosure gaps" in client.get(reverse("portal:disclosure_gaps")).content.decode()
    )
    leftovers = {}
    for name in ("disclosure_gaps", "practice_bans", "applications"):
        leftovers[name] = own_text(reverse(f"portal:{name}"), inst.name)
    client.force_login(org)
    for name, url in (
        ("org_disclosure", reverse("portal:org_disclosure", args=[inst.pk])),
        ("org_applications", reverse("portal:org_applications", args=[inst.pk])),
        ("org_course_slots", reverse("portal:org_course_slots", args=[inst.pk, course.pk])),
    ):
        leftovers[name] = own_text(url, inst.name, course.name)
    assert not any(leftovers.values()), leftovers


# --- training.latest_end_online and the staff rules through the API and the pages -----------


def _slot_body(**kw):
    return {
        "weekday": 3,
        "starts_at": "19:30",
        "ends_at": "21:00",
        "term_start": "2026-09-07",
        "term_end": "2026-12-31",
        "teacher_id": None,
        **kw,
    }


def _refusal(r, key):
    """A JSON refusal of a rule: 422, exactly {code, message, detail}, naming the rule."""
    assert r.status_code == 422, r.content
    body = r.json()
    assert set(body) == {"code", "message", "detail"} and body["code"] == "policy_violation"
    assert body["detail"]["rule"] == key and key in body["message"] and "依据" in body["message"]
    assert body["detail"]["set_by"] == "national" and "全国" in body["message"]
    return body


def _online_subject():
    return _course_and_admin(
        make_institution(category="subject", kind="subject", mode="online"),
        name="线上初中数学",
        kind="subject",
        stage="junior",
    )


def test_latest_end_online_through_the_api(client):
    from qinglang.registry.models import CourseSlot

    _, course, org = _online_subject()
    client.force_login(org)
    url = f"/api/registry/courses/{course.pk}/slots"
    body = _refusal(_post(client, url, _slot_body(ends_at="21:01")), "training.latest_end_online")
    assert body["detail"]["value"] == "21:00" and "21:01" in body["message"]
    assert not CourseSlot.objects.filter(course=course).exists()
    r = _post(client, url, _slot_body(ends_at="21:00"))
    assert r.status_code == 201, r.content
    assert r.json()["ends_at"].startswith("21:00")
    assert list(CourseSlot.objects.filter(course=course).values_list("ends_at", flat=True)) == [time(21, 0)]


def test_latest_end_online_on_the_page(client):
    from qinglang.registry.models import CourseSlot

    inst, course, org = _online_subject()
    client.force_login(org)
    url = reverse("portal:org_course_slots", args=[inst.pk, course.pk])
    data = {k: v for k, v in _slot_body(ends_at="21:01").items() if v is not None}
    html = client.post(url, data, follow=True).content.decode()
    assert "培训结束时间21:01晚于规定时间" in html and "training.latest_end_online" in html
    assert "课表已添加" not in html and not CourseSlot.objects.filter(course=course).exists()
    html = client.post(url, {**data, "ends_at": "21:00"}, follow=True).content.decode()
    assert "课表已添加" in html and CourseSlot.objects.filter(course=course).count() == 1


STAFF_RULES = [
    ("bare", "staff.subject_teacher_needs_qualification", "王芳无教师资格证，不得担任学科类课程教学"),
    ("unvetted", "staff.background_check_required", "孙悦未经无犯罪记录查询，不得安排面向未成年人的课程"),
]


def _subject_with_teachers():
    """A subject course and two teachers of it: one with no teacher qualification, one
    qualified but never background-checked."""
    inst, course, org = _course_and_admin(
        make_institution(category="subject", kind="subject"), name="初中数学", kind="subject", stage="junior"
    )
    admin = make_user("platform_admin")
    bare = registry.staff_create(
        actor=admin,
        institution_id=inst.pk,
        data={"name": "王芳", "teaches_subject": True, "background_check_on": date(2026, 1, 5)},
    )
    unvetted = registry.staff_create(
        actor=admin,
        institution_id=inst.pk,
        data={"name": "孙悦", "teaches_subject": True, "teacher_qualification_no": "20205100000007"},
    )
    return inst, course, org, bare, unvetted


@pytest.mark.parametrize("who,key,says", STAFF_RULES)
def test_staff_rules_through_the_api(client, who, key, says):
    from qinglang.registry.models import CourseSlot

    _, course, org, bare, unvetted = _subject_with_teachers()
    teacher = {"bare": bare, "unvetted": unvetted}[who]
    client.force_login(org)
    url = f"/api/registry/courses/{course.pk}/slots"
    body = _refusal(_post(client, url, _slot_body(ends_at="20:30", teacher_id=teacher.pk)), key)
    assert says in body["message"] and body["detail"]["staff_id"] == teacher.pk
    assert body["detail"]["value"] is True
    assert not CourseSlot.objects.filter(course=course).exists()
    # the same line without that teacher is taken
    assert _post(client, url, _slot_body(ends_at="20:30")).status_code == 201


@pytest.mark.parametrize("who,key,says", STAFF_RULES)
def test_staff_rules_on_the_page(client, who, key, says):
    from qinglang.core.models import AuditEvent
    from qinglang.registry.models import CourseSlot

    inst, course, org, bare, unvetted = _subject_with_teachers()
    teacher = {"bare": bare, "unvetted": unvetted}[who]
    client.force_login(org)
    url = reverse("portal:org_course_slots", args=[inst.pk, course.pk])
    data = {k: v for k, v in _slot_body(ends_at="20:30", teacher_id=teacher.pk).items() if v is not None}
    before = AuditEvent.objects.count()
    html = client.post(url, data, follow=True).content.decode()
    assert says in html and key in html and "全国" in html and "课表已添加" not in html
    assert not CourseSlot.objects.filter(course=course).exists()
    assert AuditEvent.objects.count() == before


def _unvetted_institution():
    """An institution complete but for one active teacher never background-checked."""
    admin = make_user("platform_admin")
    inst = make_institution(admin, name="武侯晨星艺术培训")
    registry.disclosure_publish(actor=admin, institution_id=inst.pk, items=FULL_DISCLOSURE)
    s = registry.staff_create(actor=admin, institution_id=inst.pk, data={"name": "孙悦", "role": "teacher"})
    return inst, s


def test_background_check_at_whitelisting_through_the_api(client, officer):
    inst, s = _unvetted_institution()
    client.force_login(officer)
    url = f"/api/registry/institutions/{inst.pk}/whitelist"
    body = _refusal(_post(client, url, {"reason": "审核"}), "staff.background_check_required")
    assert body["detail"]["staff_ids"] == [s.pk] and "孙悦" in body["message"]
    inst.refresh_from_db()
    assert not inst.whitelisted
    registry.staff_update(actor=officer, staff_id=s.pk, data={"background_check_on": date(2026, 1, 5)})
    r = _post(client, url, {"reason": "审核"})
    assert r.status_code == 200 and r.json()["whitelisted"] is True


def test_background_check_at_whitelisting_on_the_console(client, officer):
    from qinglang.core.models import AuditEvent

    inst, _ = _unvetted_institution()
    client.force_login(officer)
    url = reverse("portal:institution_list_action", args=[inst.pk, "white", "add"])
    before = AuditEvent.objects.count()
    html = client.post(url, {"reason": "审核"}, follow=True).content.decode()
    assert "机构有1名从业人员未经无犯罪记录查询(孙悦)，不能列入白名单" in html
    assert "staff.background_check_required" in html and "全国" in html
    inst.refresh_from_db()
    assert not inst.whitelisted and AuditEvent.objects.count() == before


def test_a_malformed_id_on_the_institution_pages_says_why_not_a_server_error(client):
    from qinglang.registry.models import Application, CourseSlot

    inst, course, org = _course_and_admin(
        make_institution(category="subject", kind="subject"), name="初中数学", kind="subject", stage="junior"
    )
    client.force_login(org)
    url = reverse("portal:org_course_slots", args=[inst.pk, course.pk])
    data = {"weekday": "3", "starts_at": "09:00", "ends_at": "10:00", "term_start": "2026-09-07"}
    for bad in ("abc", str(2**63)):
        resp = client.post(url, {**data, "teacher_id": bad}, follow=True)
        assert resp.status_code == 200 and "授课人员无效" in resp.content.decode()
        resp = client.post(
            reverse("portal:org_applications", args=[inst.pk]), {"application_id": bad}, follow=True
        )
        assert resp.status_code == 200 and "申请无效" in resp.content.decode()
    assert not CourseSlot.objects.filter(course=course).exists()
    assert not Application.objects.filter(institution=inst).exists()


def test_over_long_application_and_disclosure_input_names_the_field_and_writes_nothing(client):
    from qinglang.core.models import AuditEvent
    from qinglang.registry.models import Application, DisclosureNote

    inst, _course, org = _course_and_admin(
        make_institution(category="subject", kind="subject"), name="初中数学", kind="subject", stage="junior"
    )
    client.force_login(org)
    audits = AuditEvent.objects.count()
    resp = client.post(
        reverse("portal:org_applications", args=[inst.pk]),
        {"kind": "change", "change_address": "长" * 256},
        follow=True,
    )
    assert resp.status_code == 200 and "变更后的地址不超过255字" in resp.content.decode()
    key = next(iter(FULL_DISCLOSURE))
    resp = client.post(reverse("portal:org_disclosure", args=[inst.pk]), {key: "长" * 2001}, follow=True)
    assert resp.status_code == 200 and "不超过2000字" in resp.content.decode()
    assert not Application.objects.filter(institution=inst).exists()
    assert not DisclosureNote.objects.filter(institution=inst).exists()
    assert AuditEvent.objects.count() == audits
