"""Rules in force on the registry's objects: staff admission, timetables and training
hours, disclosure board. Each at, just inside and just beyond its limit, with a city
override; the refusal names key, value, division and basis."""

import json
from datetime import date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from qinglang.core.errors import DomainError
from qinglang.core.models import AuditEvent
from qinglang.core.services import policy_set
from qinglang.registry import services
from qinglang.registry.models import CourseSlot, HoursViolation, PracticeBan, Staff
from qinglang.testing import FULL_DISCLOSURE, OTHER_COUNTY, ROOT, make_institution, make_user

CITY = "5101"
RID = "11010519491231002X"
RID2 = "510107199002154566"


def _course(actor, inst, kind=None, **kw):
    return services.course_create(
        actor=actor,
        institution_id=inst.pk,
        data={
            "name": kw.pop("name", "课程"),
            "kind": kind or inst.kind,
            "stage": "primary",
            "lessons": 20,
            "unit_price_fen": 5000,
            **kw,
        },
    )


def _staff(actor, inst, **kw):
    return services.staff_create(
        actor=actor,
        institution_id=inst.pk,
        data={"name": "李明", "role": "teacher", "background_check_on": date(2026, 1, 5), **kw},
    )


def _slot(actor, course, **kw):
    data = {
        "weekday": 3,
        "starts_at": "18:30",
        "ends_at": "20:00",
        "term_start": "2026-09-07",
        "term_end": "2026-12-31",
        **kw,
    }
    return services.slot_create(actor=actor, course_id=course.pk, data=data)


def _refused(key, fn):
    with pytest.raises(DomainError) as e:
        fn()
    assert e.value.code == "policy_violation", e.value.message
    d = e.value.detail
    assert d["rule"] == key and "basis" in d and "set_by" in d
    assert key in e.value.message and "依据" in e.value.message
    return e.value


def _override(key, value, division=CITY):
    policy_set(
        actor=ROOT,
        key=key,
        division_code=division,
        value=value,
        basis="成都市规定(测试)",
        effective_from=date(2025, 1, 1),
    )


@pytest.fixture
def subject(admin):
    inst = make_institution(admin, category="subject", kind="subject")
    return inst, _course(admin, inst)


# --- staff admission ----------------------------------------------------------------------


def test_subject_teacher_needs_qualification(admin, subject):
    inst, course = subject
    bare = _staff(admin, inst, name="王芳", teaches_subject=True)
    e = _refused(
        "staff.subject_teacher_needs_qualification", lambda: _slot(admin, course, teacher_id=bare.pk)
    )
    assert e.detail["set_by"] == "national" and "王芳" in e.message
    assert not CourseSlot.objects.exists()
    ok = _staff(admin, inst, name="赵强", teaches_subject=True, teacher_qualification_no="20205100000001")
    assert _slot(admin, course, teacher_id=ok.pk).teacher_id == ok.pk
    # a non-subject course needs no teacher qualification
    arts = make_institution(admin)
    a_course = _course(admin, arts)
    assert _slot(admin, a_course, teacher_id=_staff(admin, arts, name="钱多").pk)
    # a city that does not require it (override): the unqualified teacher may teach
    _override("staff.subject_teacher_needs_qualification", False)
    assert _slot(admin, course, weekday=4, teacher_id=bare.pk)


def test_background_check_for_timetable_and_whitelist(admin):
    inst = make_institution(admin)
    course = _course(admin, inst)
    unvetted = _staff(admin, inst, name="孙悦", background_check_on=None)
    _refused("staff.background_check_required", lambda: _slot(admin, course, teacher_id=unvetted.pk))
    services.disclosure_publish(actor=admin, institution_id=inst.pk, items=FULL_DISCLOSURE)
    e = _refused(
        "staff.background_check_required",
        lambda: services.whitelist_add(actor=admin, institution_id=inst.pk, reason="审核"),
    )
    assert e.detail["staff_ids"] == [unvetted.pk]
    # staff who left yesterday do not count; one leaving tomorrow still does
    today = timezone.localdate()
    services.staff_update(actor=admin, staff_id=unvetted.pk, data={"left_on": today + timedelta(days=1)})
    _refused(
        "staff.background_check_required",
        lambda: services.whitelist_add(actor=admin, institution_id=inst.pk, reason="审核"),
    )
    services.staff_update(actor=admin, staff_id=unvetted.pk, data={"left_on": today - timedelta(days=1)})
    assert services.whitelist_add(actor=admin, institution_id=inst.pk, reason="审核")


def test_background_check_city_override(admin):
    inst = make_institution(admin)
    course = _course(admin, inst)
    unvetted = _staff(admin, inst, background_check_on=None)
    _override("staff.background_check_required", False)
    assert _slot(admin, course, teacher_id=unvetted.pk)
    services.disclosure_publish(actor=admin, institution_id=inst.pk, items=FULL_DISCLOSURE)
    assert services.whitelist_add(actor=admin, institution_id=inst.pk, reason="审核")


def test_practice_ban_refuses_hire_anywhere_revealing_nothing_to_the_institution(admin, officer):
    today = timezone.localdate()
    ban = services.practice_ban_enter(
        actor=officer,
        resident_id=RID,
        name="周某",
        authority="武侯区教育局",
        decision_no="武教罚〔2026〕3号",
        basis="《校外培训行政处罚暂行办法》",
        division_code="510107",
        starts_on=today,
    )
    assert ban.resident_id_digest and RID not in json.dumps(list(PracticeBan.objects.values()), default=str)
    other = make_institution(admin, division_code=OTHER_COUNTY)
    org = make_user("institution_admin", institution_id=other.pk)
    before = Staff.objects.count()
    with pytest.raises(DomainError) as e:
        services.staff_create(actor=org, institution_id=other.pk, data={"name": "周某", "resident_id": RID})
    assert e.value.code == "not_eligible" and e.value.message == services.NOT_ELIGIBLE_MESSAGE
    assert e.value.detail is None and "武教罚" not in e.value.message
    assert Staff.objects.count() == before
    # the regulator is told the decision
    with pytest.raises(DomainError) as e:
        services.staff_create(actor=admin, institution_id=other.pk, data={"name": "周某", "resident_id": RID})
    assert "武教罚〔2026〕3号" in e.value.message
    # someone else is hired
    assert services.staff_create(
        actor=org, institution_id=other.pk, data={"name": "吴某", "resident_id": RID2}
    )
    # a staff member re-identified with a banned ID is refused too
    s = Staff.objects.get(name="吴某")
    with pytest.raises(DomainError):
        services.staff_update(actor=org, staff_id=s.pk, data={"resident_id": RID})


@pytest.mark.parametrize("ends_delta,refused", [(0, True), (1, True), (-1, False)])
def test_practice_ban_period(admin, officer, ends_delta, refused):
    today = timezone.localdate()
    services.practice_ban_enter(
        actor=officer,
        resident_id=RID,
        authority="法院",
        decision_no="(2025)川0107刑初1号",
        basis="刑事判决",
        division_code="510107",
        starts_on=today - timedelta(days=400),
        ends_on=today + timedelta(days=ends_delta),
        source="other_authority",
    )
    inst = make_institution(admin)

    def call():
        return services.staff_create(
            actor=admin, institution_id=inst.pk, data={"name": "甲", "resident_id": RID}
        )

    if refused:
        with pytest.raises(DomainError):
            call()
    else:
        assert call().pk


def test_practice_ban_bad_input_and_scope(officer):
    with pytest.raises(ValidationError):
        services.practice_ban_enter(
            actor=officer,
            resident_id="123",
            authority="x",
            decision_no="y",
            basis="z",
            division_code="510107",
            starts_on=date(2026, 1, 1),
        )
    with pytest.raises(ValidationError) as e:
        services.practice_ban_enter(
            actor=officer,
            resident_id=RID,
            authority="x",
            decision_no="y",
            basis="z",
            division_code="510107",
            starts_on=date(2026, 2, 1),
            ends_on=date(2026, 1, 1),
        )
    assert "ends_on" in e.value.message_dict
    assert not PracticeBan.objects.exists()


# --- timetables and training hours -------------------------------------------------------


@pytest.mark.parametrize("ends,ok", [("20:29", True), ("20:30", True), ("20:31", False)])
def test_subject_timetable_latest_end_offline(admin, subject, ends, ok):
    _, course = subject
    if ok:
        assert _slot(admin, course, ends_at=ends)
    else:
        e = _refused("training.latest_end_offline", lambda: _slot(admin, course, ends_at=ends))
        assert e.detail["value"] == "20:30"


def test_online_latest_end_and_city_override(admin):
    inst = make_institution(admin, category="subject", kind="subject", mode="online")
    course = _course(admin, inst)
    assert _slot(admin, course, ends_at="21:00")
    _refused("training.latest_end_online", lambda: _slot(admin, course, weekday=2, ends_at="21:01"))
    _override("training.latest_end_online", "20:00")
    e = _refused("training.latest_end_online", lambda: _slot(admin, course, weekday=4, ends_at="20:01"))
    assert e.detail["set_by"] == CITY and "成都市规定" in e.message
    assert _slot(admin, course, weekday=4, ends_at="20:00")


OTHER_CITY_COUNTY = "510302"  # 四川省自贡市自流井区: another city of the province


def test_city_latest_end_offline_bites_in_its_counties(admin, subject):
    """成都市 sets 20:00 instead of the national 20:30: a subject line ending 20:15 in a
    county of the city (武侯区) is taken before and refused after, the refusal naming the
    key, the city's value, the city and its basis; another city keeps 20:30, and a county
    of the city may set its own figure again."""
    inst, course = subject
    assert inst.division_code.startswith(CITY + "07")
    assert _slot(admin, course, weekday=1, ends_at="20:15")
    _override("training.latest_end_offline", "20:00")
    e = _refused("training.latest_end_offline", lambda: _slot(admin, course, weekday=2, ends_at="20:15"))
    assert e.detail["value"] == "20:00" and e.detail["set_by"] == CITY
    assert "20:15" in e.message and "20:00" in e.message
    assert "四川省成都市" in e.message and "成都市规定(测试)" in e.message
    assert list(CourseSlot.objects.filter(course=course).values_list("weekday", flat=True)) == [1]
    assert _slot(admin, course, weekday=2, ends_at="20:00")
    elsewhere = make_institution(admin, category="subject", kind="subject", division_code=OTHER_CITY_COUNTY)
    assert _slot(admin, _course(admin, elsewhere), ends_at="20:15")
    # the county's own figure wins over its city's
    _override("training.latest_end_offline", "20:30", division=inst.division_code[:6])
    assert _slot(admin, course, weekday=3, ends_at="20:15")


def test_city_latest_end_offline_decides_a_lessons_violation(admin):
    """A non-subject lesson of 45 minutes from 19:30 ends 20:15: no record under the
    national 20:30, a record citing the city under 成都市's 20:00."""
    course = _course(admin, make_institution(admin))
    assert (
        services.lesson_hours_check(
            actor=admin, course_id=course.pk, starts_at=_at(WEDNESDAY, 19, 30), ref="n1"
        )
        == []
    )
    _override("training.latest_end_offline", "20:00")
    (v,) = services.lesson_hours_check(
        actor=admin, course_id=course.pk, starts_at=_at(WEDNESDAY, 19, 30), ref="c1"
    )
    assert (v.rule, v.rule_value, v.set_by, v.refused) == (
        "training.latest_end_offline",
        "20:00",
        CITY,
        False,
    )
    assert v.basis == "成都市规定(测试)" and "20:15" in v.message
    assert HoursViolation.objects.filter(course=course).count() == 1


def test_non_subject_late_timetable_kept_with_violation(admin):
    inst = make_institution(admin)
    course = _course(admin, inst)
    slot = _slot(admin, course, ends_at="20:45")
    v = HoursViolation.objects.get(course=course, source="timetable")
    assert v.rule == "training.latest_end_offline" and not v.refused and v.ref == f"slot:{slot.pk}"


@pytest.mark.parametrize("weekday,ok", [(5, True), (6, False), (7, False)])
def test_subject_timetable_not_on_rest_days(admin, subject, weekday, ok):
    _, course = subject
    if ok:
        assert _slot(admin, course, weekday=weekday)
    else:
        _refused("subject.no_training_on_rest_days", lambda: _slot(admin, course, weekday=weekday))


@pytest.mark.parametrize("term_end,ok", [("2026-07-09", True), ("2026-07-10", False), ("2026-07-11", False)])
def test_subject_timetable_not_in_vacation(admin, subject, term_end, ok):
    _, course = subject
    call = lambda: _slot(admin, course, term_start="2026-03-02", term_end=term_end)  # noqa: E731
    if ok:
        assert call()
    else:
        e = _refused("calendar.summer_vacation", call)
        assert e.detail["value"] == ["07-10", "08-31"]


def test_vacation_city_override_and_bad_order(admin, subject):
    _, course = subject
    _override("calendar.summer_vacation", ["07-15", "08-31"])
    assert _slot(admin, course, term_start="2026-03-02", term_end="2026-07-14")
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as e:
        _override("calendar.winter_vacation", ["02-20", "01-20"])
    assert "晚于" in str(e.value)
    with pytest.raises(ValidationError):
        _override("calendar.winter_vacation", ["13-01", "02-20"])
    assert AuditEvent.objects.count() == before


def test_rest_day_rule_off_in_a_city(admin, subject):
    _, course = subject
    _override("subject.no_training_on_rest_days", False)
    assert _slot(admin, course, weekday=6)


@pytest.mark.parametrize(
    "data,field",
    [
        ({"starts_at": "19:00", "ends_at": "18:00"}, "ends_at"),
        ({"starts_at": "19:00", "ends_at": "19:00"}, "ends_at"),
        ({"term_start": "2026-12-01", "term_end": "2026-11-01"}, "term_end"),
        ({"weekday": 8}, "weekday"),
        ({"starts_at": "7pm"}, "starts_at"),
    ],
)
def test_timetable_bad_input(admin, subject, data, field):
    _, course = subject
    with pytest.raises(ValidationError) as e:
        _slot(admin, course, **data)
    assert field in e.value.message_dict
    assert not CourseSlot.objects.exists()


def test_timetable_overlap_refused(admin, subject):
    inst, course = subject
    t = _staff(admin, inst, teacher_qualification_no="20205100000009", teaches_subject=True)
    _slot(admin, course, starts_at="18:00", ends_at="19:00", teacher_id=t.pk)
    with pytest.raises(ValidationError) as e:
        _slot(admin, course, starts_at="18:30", ends_at="19:30")
    assert "重叠" in str(e.value)
    other = _course(admin, inst, name="另一课程")
    with pytest.raises(ValidationError):
        _slot(admin, other, starts_at="18:59", ends_at="19:30", teacher_id=t.pk)
    assert _slot(admin, course, starts_at="19:00", ends_at="20:00")  # touching is no overlap
    assert CourseSlot.objects.count() == 2


def _at(d: date, hh: int, mm: int):
    return timezone.make_aware(datetime.combine(d, time(hh, mm)))


WEDNESDAY = date(2026, 12, 2)
SATURDAY = date(2026, 12, 5)
NATIONAL_DAY = date(2026, 10, 1)


@pytest.mark.parametrize(
    "when,ok",
    [
        (_at(WEDNESDAY, 19, 44), True),
        (_at(WEDNESDAY, 19, 45), True),  # 45 minutes: ends 20:30
        (_at(WEDNESDAY, 19, 46), False),
        (_at(SATURDAY, 10, 0), False),
        (_at(NATIONAL_DAY, 10, 0), False),
        (_at(date(2026, 8, 3), 10, 0), False),  # summer vacation, a Monday
    ],
)
def test_lesson_hours_subject(admin, subject, when, ok):
    _, course = subject
    call = lambda: services.lesson_hours_check(actor=admin, course_id=course.pk, starts_at=when, ref="e1")  # noqa: E731
    if ok:
        assert call() == []
        assert not HoursViolation.objects.exists()
    else:
        with pytest.raises(DomainError) as e:
            call()
        assert e.value.detail["rule"] in {
            "training.latest_end_offline",
            "subject.no_training_on_rest_days",
            "calendar.summer_vacation",
        }
        v = HoursViolation.objects.get(course=course)
        assert v.refused and v.rule == e.value.detail["rule"]
        with pytest.raises(DomainError):
            call()  # sent again: still refused, still one record
        assert HoursViolation.objects.count() == 1


def test_lesson_hours_non_subject_taken_with_record(admin):
    inst = make_institution(admin)
    course = _course(admin, inst)
    assert services.lesson_hours_check(actor=admin, course_id=course.pk, starts_at=_at(SATURDAY, 10, 0)) == []
    rows = services.lesson_hours_check(
        actor=admin, course_id=course.pk, starts_at=_at(WEDNESDAY, 20, 0), ref="x"
    )
    assert len(rows) == 1 and not rows[0].refused and rows[0].rule == "training.latest_end_offline"


# --- disclosure ----------------------------------------------------------------------------


def test_disclosure_board_items_and_whitelist_gap(admin):
    inst = make_institution(admin)
    board = {b["item"]: b for b in services.disclosure_board(inst)}
    assert list(board) == ["permit", "registration", "teachers", "fees", "content", "safety", "custody"]
    assert board["permit"]["present"] and board["registration"]["present"]
    assert not board["custody"]["present"]
    # a published note cannot stand in for a licence
    services.disclosure_publish(actor=admin, institution_id=inst.pk, items={"permit": "有许可证"})
    assert services.disclosure_gaps(inst)[:1] != ["permit"]
    # one item short of complete: refused, naming the missing item
    items = dict(FULL_DISCLOSURE)
    items.pop("safety")
    services.disclosure_publish(actor=admin, institution_id=inst.pk, items=items)
    e = _refused(
        "disclosure.required_items",
        lambda: services.whitelist_add(actor=admin, institution_id=inst.pk, reason="审核"),
    )
    assert e.detail["missing"] == ["safety"] and "安全管理" in e.message
    services.disclosure_publish(actor=admin, institution_id=inst.pk, items={"safety": "消防责任人：张三"})
    assert services.whitelist_add(actor=admin, institution_id=inst.pk, reason="审核")


def test_disclosure_city_override_and_bad_input(admin):
    inst = make_institution(admin)
    _override("disclosure.required_items", ["permit", "registration"])
    assert services.disclosure_gaps(inst) == []
    assert services.whitelist_add(actor=admin, institution_id=inst.pk, reason="审核")
    with pytest.raises(ValidationError):
        services.disclosure_publish(actor=admin, institution_id=inst.pk, items={"weather": "晴"})
    assert not inst.disclosures.exists()


def test_disclosure_facts_come_from_the_registry(admin):
    inst = make_institution(admin)
    _staff(admin, inst, name="郑红", subjects="美术")
    c = _course(admin, inst, name="少儿美术")
    services.course_review(actor=admin, course_id=c.pk, approve=True)
    services.licence_set(actor=admin, institution_id=inst.pk, kind="fire_acceptance", number="消验2026-1")
    gaps = services.disclosure_gaps(inst)
    assert gaps == ["custody"]
    board = {b["item"]: b for b in services.disclosure_board(inst)}
    assert any("郑*" in line for line in board["teachers"]["lines"])
    assert any("50.00元/课时" in line for line in board["fees"]["lines"])


def test_the_gap_list_is_set_based_and_agrees_with_each_board(admin):
    """The console's list of institutions with gaps costs the same handful of queries for
    3 institutions or 12, and says what each institution's own board says."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from qinglang.registry import selectors
    from qinglang.registry.models import Institution

    def add(n):
        for i in range(n):
            inst = make_institution(admin)
            if i % 3 == 0:  # complete: no gap
                services.disclosure_publish(actor=admin, institution_id=inst.pk, items=FULL_DISCLOSURE)
            elif i % 3 == 1:  # a note for every item but a licence revoked: the permit is missing
                services.disclosure_publish(actor=admin, institution_id=inst.pk, items=FULL_DISCLOSURE)
                inst.licences.filter(kind="school_permit").update(revoked=True)

    def listed():
        with CaptureQueriesContext(connection) as q:
            rows = selectors.disclosure_gap_list(actor=admin)
        return {inst.pk: gaps for inst, gaps in rows}, len(q.captured_queries)

    add(3)
    few, n_few = listed()
    assert len(few) == 2  # of 3 made, one complete
    add(9)
    many, n_many = listed()
    assert n_many == n_few <= 8  # not one institution at a time
    active = Institution.objects.filter(status="active")
    expected = {i.pk: services.disclosure_gaps(i) for i in active}
    assert many == {pk: g for pk, g in expected.items() if g}
    assert ["permit"] in many.values() and any("custody" in g for g in many.values())
    assert len(many) == 8  # 12 made, 4 complete
    # the city's own list of required items counts, as on each board
    _override("disclosure.required_items", ["registration"])
    assert listed()[0] == {}
