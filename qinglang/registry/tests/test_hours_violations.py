"""One record per rule a referenced lesson or timetable line broke: a lesson sent twice,
one after the other or at the same moment, leaves one violation (constraint
``hoursviol_one_per_ref``); records without a reference are not merged."""

import threading
from datetime import date, datetime, time
from time import sleep

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from qinglang.registry import services
from qinglang.registry.models import HoursViolation
from qinglang.testing import make_institution, make_user

WEDNESDAY = date(2026, 12, 2)  # a working day
LATE = timezone.make_aware(datetime.combine(WEDNESDAY, time(20, 0)))  # 45 minutes: ends 20:45
HOLD = 1.5  # seconds the first recording keeps its row uncommitted


def _late_course():
    admin = make_user("platform_admin")
    inst = make_institution(admin)
    course = services.course_create(
        actor=admin,
        institution_id=inst.pk,
        data={"name": "少儿美术", "kind": "arts", "stage": "primary", "lessons": 20, "unit_price_fen": 5000},
    )
    return admin, course


def _record(admin, course, ref="lesson:1:e1"):
    return services.lesson_hours_check(actor=admin, course_id=course.pk, starts_at=LATE, ref=ref)


@pytest.mark.django_db
def test_the_same_lesson_recorded_twice_leaves_one_violation():
    admin, course = _late_course()
    (first,) = _record(admin, course)
    (again,) = _record(admin, course)
    assert again.pk == first.pk and first.rule == "training.latest_end_offline"
    assert HoursViolation.objects.filter(course=course).count() == 1
    # another lesson is another record
    (other,) = _record(admin, course, ref="lesson:1:e2")
    assert other.pk != first.pk
    # the database itself refuses a second record of the same lesson and rule ...
    fields = {f: getattr(first, f) for f in ("institution_id", "division_code", "starts_at", "ends_at")}
    with pytest.raises(IntegrityError), transaction.atomic():
        HoursViolation.objects.create(
            course=course, source="lesson", ref=first.ref, rule=first.rule, basis="-", message="-", **fields
        )
    # ... but not records without a reference (nothing says they are the same lesson)
    for _ in range(2):
        _record(admin, course, ref="")
    assert HoursViolation.objects.filter(course=course, ref="").count() == 2
    assert HoursViolation.objects.filter(course=course).count() == 4


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL; SQLite serialises them"
)
def test_the_same_lesson_recorded_at_the_same_moment_leaves_one_violation():
    """The first recording inserts its record and holds it uncommitted; the second, not
    seeing it, inserts too. The unique index makes the second wait for the first and then
    refuses it, and the second returns the first's record. Without the index there would
    be two records."""
    admin, course = _late_course()
    inserted = threading.Event()
    got: dict[str, int] = {}
    errors: dict[str, BaseException] = {}

    def first():
        try:
            with transaction.atomic():
                got["first"] = _record(admin, course)[0].pk
                inserted.set()
                sleep(HOLD)
        except BaseException as e:
            errors["first"] = e
        finally:
            inserted.set()
            connections.close_all()

    def second():
        try:
            inserted.wait(timeout=30)
            got["second"] = _record(admin, course)[0].pk
        except BaseException as e:
            errors["second"] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert got["first"] == got["second"]
    assert list(HoursViolation.objects.filter(course=course).values_list("pk", flat=True)) == [got["first"]]


@pytest.mark.django_db
def test_the_migration_keeps_the_first_of_duplicates_recorded_before_the_constraint():
    """registry 0011: where a race had already left two records of one lesson and rule,
    the first stays and the other goes; other records are untouched. (The index is
    dropped inside the test's transaction, which puts it back.)"""
    import importlib

    from django.apps import apps as django_apps

    mig = importlib.import_module("qinglang.registry.migrations.0011_hours_violation_one_per_ref")
    admin, course = _late_course()
    (first,) = _record(admin, course)
    (other,) = _record(admin, course, ref="lesson:1:e2")
    (unreferenced,) = _record(admin, course, ref="")
    with connection.cursor() as c:
        c.execute("DROP INDEX hoursviol_one_per_ref")
    twin = HoursViolation.objects.get(pk=first.pk)
    twin.pk = None
    twin.save()
    (bare_twin,) = _record(admin, course, ref="")
    assert HoursViolation.objects.filter(course=course, ref=first.ref).count() == 2
    mig.drop_duplicates(django_apps, None)
    left = set(HoursViolation.objects.filter(course=course).values_list("pk", flat=True))
    assert left == {first.pk, other.pk, unreferenced.pk, bare_twin.pk}


@pytest.mark.django_db
def test_two_lessons_whose_long_event_ids_share_a_head_leave_two_violations():
    admin, course = _late_course()
    head = "lesson:1:" + "x" * 60
    (a,) = _record(admin, course, ref=head + "-A")
    (b,) = _record(admin, course, ref=head + "-B")
    (again,) = _record(admin, course, ref=head + "-A")  # a retry of the first
    assert a.pk != b.pk and again.pk == a.pk
    assert len(a.ref) == 64 and a.ref.startswith("lesson:1:xxx")
    assert HoursViolation.objects.filter(course=course).count() == 2
