"""Training hours on every path a lesson takes: a batch of lessons (the API's file upload
and the institution's batch page) refuses a subject course's lesson outside the hours and
records every late lesson, as a single lesson does; the figures at, just inside and just
beyond the latest end, a city's own latest end and vacation; each refusal names the key,
the value, the division that set it and the basis."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from qinglang.funds.models import Lesson
from qinglang.funds.testing import funds_world, paid_order
from qinglang.registry.models import HoursViolation

from .rule_checks import CITY, assert_cites, at, city_sets, day_in, post_json, token_client

pytestmark = pytest.mark.django_db
LATEST = "training.latest_end_offline"
REST = "subject.no_training_on_rest_days"


def _file(order, lessons: dict) -> SimpleUploadedFile:
    """A CSV batch: one line per event id, each at its time."""
    lines = "".join(f"{e},{order.pk},{when.isoformat()}\n" for e, when in lessons.items())
    return SimpleUploadedFile("lessons.csv", ("event_id,order_id,given_at\n" + lines).encode())


def _results(r) -> dict:
    assert r.status_code == 200, r.content
    return {x["event_id"]: x for x in r.json()["results"]}


def _subject():
    w = funds_world(category="subject", kind="subject")
    return w, paid_order(w)


def test_a_batch_refuses_subject_lessons_outside_the_hours_as_a_single_lesson_is():
    """A 45-minute subject lesson from 19:44 (inside) or 19:45 (at 20:30) is taken; from
    19:46 (beyond) or on a Saturday it is refused, the batch's reason the very sentence a
    single lesson is refused with; each refusal is recorded once, however often sent."""
    w, order = _subject()
    weekday, saturday = day_in(order, working=True), day_in(order, working=False)
    lessons = {
        "inside": at(weekday, 19, 44),
        "at": at(weekday, 19, 45),
        "beyond": at(weekday, 19, 46),
        "saturday": at(saturday, 10, 0),
    }
    api = token_client(w.org_user)
    url = f"/api/funds/institutions/{w.institution.pk}/lessons/batch"
    r = api.post(url, {"file": _file(order, lessons)})
    body, results = r.json(), _results(r)
    assert (body["accepted"], body["refused"]) == (2, 2)
    assert {e: x["code"] for e, x in results.items()} == {
        "beyond": "policy_violation",
        "saturday": "policy_violation",
    }
    assert_cites(results["beyond"]["reason"], LATEST, "20:30")
    assert "课时结束于20:31" in results["beyond"]["reason"]
    assert_cites(results["saturday"]["reason"], REST, True)
    assert set(Lesson.objects.filter(order=order).values_list("event_id", flat=True)) == {"inside", "at"}
    refused = HoursViolation.objects.filter(course=order.course, refused=True)
    assert set(refused.values_list("rule", "ref")) == {
        (LATEST, f"lesson:{w.institution.pk}:beyond"),
        (REST, f"lesson:{w.institution.pk}:saturday"),
    }
    # the same file again: two duplicates, the same two refusals, still one record each
    again = api.post(url, {"file": _file(order, lessons)}).json()
    assert (again["accepted"], again["duplicate"], again["refused"]) == (0, 2, 2)
    assert HoursViolation.objects.filter(course=order.course).count() == 2
    # a single lesson at the same time is refused in the same words
    single = post_json(
        api,
        f"/api/funds/institutions/{w.institution.pk}/lessons",
        {"order_id": order.pk, "event_id": "single", "given_at": lessons["beyond"].isoformat()},
    )
    assert single.status_code == 422 and single.json()["message"] == results["beyond"]["reason"]


def test_a_batch_takes_a_late_non_subject_lesson_and_records_it():
    w = funds_world()
    order = paid_order(w)
    weekday = day_in(order, working=True)
    r = token_client(w.org_user).post(
        f"/api/funds/institutions/{w.institution.pk}/lessons/batch",
        {
            "file": _file(
                order, {"late": at(weekday, 20, 0), "saturday": at(day_in(order, working=False), 10, 0)}
            )
        },
    )
    assert r.status_code == 200 and (r.json()["accepted"], r.json()["refused"]) == (2, 0)
    (v,) = HoursViolation.objects.filter(course=order.course)
    assert (v.rule, v.rule_value, v.set_by, v.refused) == (LATEST, "20:30", "", False)
    assert v.ref == f"lesson:{w.institution.pk}:late" and "20:45" in v.message


def _next_working_day(d):
    from qinglang.core.calendar import is_working_day

    d += timedelta(days=1)
    while not is_working_day(d):
        d += timedelta(days=1)
    return d


def test_the_citys_latest_end_and_vacation_decide_a_batch_on_the_page(client):
    """成都市 ends training at 20:00 and makes one working day a winter vacation: on the
    institution's batch page a 45-minute lesson from 19:15 (at 20:00) is taken, from 19:16
    (beyond) refused, and a lesson on the city's vacation day refused; the report names
    each rule with the city's figure, the city and its basis."""
    w, order = _subject()
    holiday = day_in(order, working=True)
    other = _next_working_day(holiday)
    assert other <= order.ends_on
    md = holiday.strftime("%m-%d")
    city_sets(LATEST, "20:00")
    city_sets("calendar.winter_vacation", [md, md])
    lessons = {"vacation": at(holiday, 10, 0), "at": at(other, 19, 15), "beyond": at(other, 19, 16)}
    client.force_login(w.org_user)
    resp = client.post(
        reverse("portal:org_batch", args=[w.institution.pk]), {"file": _file(order, lessons)}, follow=True
    )
    html = resp.content.decode()
    assert resp.status_code == 200 and "接受 1 条" in html and "拒绝 2 条" in html, html
    assert_cites(html, LATEST, "20:00", CITY)
    assert_cites(html, "calendar.winter_vacation", [md, md], CITY)
    assert list(Lesson.objects.filter(order=order).values_list("event_id", flat=True)) == ["at"]
    assert set(HoursViolation.objects.filter(refused=True).values_list("rule", "set_by")) == {
        (LATEST, CITY),
        ("calendar.winter_vacation", CITY),
    }


def test_a_single_lesson_is_judged_on_the_citys_hours_in_its_own_statement():
    """The single-lesson API reads the training-hours rules in force with the order it
    locks: with 成都市's latest end at 20:00, a non-subject 45-minute lesson from 19:15
    (at 20:00) is taken with no record, one from 19:16 (beyond) is taken and recorded with
    the city's figure; a subject lesson from 19:16 is refused citing the city, and a subject
    lesson on the city's vacation day too; nothing is recorded of the refused lessons but
    the violations."""
    city_sets(LATEST, "20:00")
    w = funds_world()
    order = paid_order(w)
    day = day_in(order, working=True)
    api = token_client(w.org_user)
    url = f"/api/funds/institutions/{w.institution.pk}/lessons"
    for event, when in (("at", at(day, 19, 15)), ("beyond", at(day, 19, 16))):
        r = post_json(api, url, {"order_id": order.pk, "event_id": event, "given_at": when.isoformat()})
        assert r.status_code == 200, r.content
    (v,) = HoursViolation.objects.filter(course=order.course)
    assert (v.rule, v.rule_value, v.set_by, v.refused) == (LATEST, "20:00", CITY, False)
    assert v.ref == f"lesson:{w.institution.pk}:beyond"
    assert set(Lesson.objects.filter(order=order).values_list("event_id", flat=True)) == {"at", "beyond"}

    ws, subject = _subject()
    sday = day_in(subject, working=True)
    md = _next_working_day(sday).strftime("%m-%d")
    city_sets("calendar.winter_vacation", [md, md])
    sapi = token_client(ws.org_user)
    surl = f"/api/funds/institutions/{ws.institution.pk}/lessons"
    late = post_json(
        sapi, surl, {"order_id": subject.pk, "event_id": "late", "given_at": at(sday, 19, 16).isoformat()}
    )
    assert late.status_code == 422
    assert_cites(late.json()["message"], LATEST, "20:00", CITY)
    vac = post_json(
        sapi,
        surl,
        {
            "order_id": subject.pk,
            "event_id": "vac",
            "given_at": at(_next_working_day(sday), 10, 0).isoformat(),
        },
    )
    assert vac.status_code == 422
    assert_cites(vac.json()["message"], "calendar.winter_vacation", [md, md], CITY)
    assert not Lesson.objects.filter(order=subject).exists()
    assert set(
        HoursViolation.objects.filter(course=subject.course).values_list("rule", "set_by", "refused")
    ) == {
        (LATEST, CITY, True),
        ("calendar.winter_vacation", CITY, True),
    }
