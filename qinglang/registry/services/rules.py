"""Rules in force on the registry's objects: staff admission (看好人: qualification,
background check, the practice-ban list), timetables and training hours, materials review
before sale, the disclosure board, and the school calendar of a division. Every refusal
names the policy key, its value, the division that set it and the basis
(``Resolved.violation``).

This module holds the course checkers, timetables, training hours, materials before sale
and the whitelist gate; staff admission and the practice-ban list are ``staff_admission``,
the disclosure board ``disclosure``."""

import hashlib
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from qinglang.accounts.permissions import is_system
from qinglang.accounts.scope import in_scope
from qinglang.core import bulk
from qinglang.core.audit import audit_record
from qinglang.core.calendar import VACATION_KEYS, is_rest_day, vacation_on
from qinglang.core.errors import NotFound
from qinglang.core.i18n import chinese_labels
from qinglang.core.policy import Resolved, policy_resolve, policy_resolve_many

from ..models import (
    Course,
    CourseSlot,
    DisclosureItem,
    HoursViolation,
    Institution,
    Kind,
    MaterialStatus,
    Mode,
    Staff,
)
from .common import lock_institution
from .disclosure import disclosure_gaps
from .staff_admission import _check_teacher, staff_unvetted

__all__ = [
    "COURSE_CHECKERS",
    "HOURS_KEYS",
    "LessonHours",
    "course_checker_register",
    "course_sellable",
    "lesson_hours_check",
    "lesson_hours_clear",
    "slot_create",
    "slot_delete",
    "whitelist_gate",
]


# --- course submission checkers --------------------------------------------------------
# Upper apps (e.g. screening of course texts) register a callable(course, institution)
# that raises DomainError to refuse a course at submission; registry runs them in order.
COURSE_CHECKERS: list[Callable] = []


def course_checker_register(fn: Callable) -> Callable:
    if fn not in COURSE_CHECKERS:
        COURSE_CHECKERS.append(fn)
    return fn


# --- the timetable ---------------------------------------------------------------------


def _latest_end(inst: Institution, on: date) -> Resolved:
    key = "training.latest_end_online" if inst.mode == Mode.ONLINE else "training.latest_end_offline"
    return policy_resolve(key, inst.division_code, on=on)


def _clock(value: str) -> time:
    h, m = (int(x) for x in str(value).split(":"))
    return time(h, m)


def _vacation_days(inst: Institution, start: date, end: date) -> tuple[date, Resolved] | None:
    d = start
    while d <= end:
        r = vacation_on(d, inst.division_code)
        if r is not None:
            return d, r
        d += timedelta(days=1)
    return None


def _parse_slot(data: dict) -> dict:
    errors = {}
    out = {}
    try:
        out["weekday"] = int(data.get("weekday"))
        if not 1 <= out["weekday"] <= 7:
            raise ValueError
    except (TypeError, ValueError):
        errors["weekday"] = gettext_lazy("星期应为1(周一)到7(周日)")
    for f, label in (("starts_at", "开始时间"), ("ends_at", "结束时间")):
        v = data.get(f)
        try:
            out[f] = v if isinstance(v, time) else time.fromisoformat(str(v))
        except (TypeError, ValueError):
            errors[f] = format_lazy(gettext_lazy("{label}应为“时:分”，如 18:30"), label=label)
    for f, label in (("term_start", "起始日期"), ("term_end", "截止日期")):
        v = data.get(f)
        try:
            out[f] = v if isinstance(v, date) else date.fromisoformat(str(v))
        except (TypeError, ValueError):
            errors[f] = format_lazy(gettext_lazy("{label}应为 YYYY-MM-DD"), label=label)
    if errors:
        raise ValidationError(errors)
    if out["ends_at"] <= out["starts_at"]:
        raise ValidationError({"ends_at": gettext_lazy("结束时间须晚于开始时间")})
    if out["term_end"] < out["term_start"]:
        raise ValidationError({"term_end": gettext_lazy("截止日期不能早于起始日期")})
    return out


@transaction.atomic
def slot_create(*, actor, course_id: int, data: dict) -> CourseSlot:
    """Add a line to a course's timetable. Refused: overlapping lines of the course (or of
    the teacher), a subject course on a rest day or in a vacation or ending after the
    latest end; a teacher without qualification (subject) or background check, or banned.
    A non-subject line ending after the latest end is kept and recorded as a violation."""
    course = Course.objects.select_related("institution").filter(pk=course_id).first()
    if course is None:
        raise NotFound(gettext_lazy("课程"))
    inst = lock_institution(actor=actor, institution_id=course.institution_id, institution_may_write=True)
    course.institution = inst
    s = _parse_slot(data)
    today = timezone.localdate()
    teacher = None
    if data.get("teacher_id"):
        teacher = Staff.objects.filter(pk=data["teacher_id"], institution_id=inst.pk).first()
        if teacher is None:
            raise ValidationError({"teacher_id": gettext_lazy("授课人员须为本机构从业人员")})
    overlap = CourseSlot.objects.filter(
        weekday=s["weekday"],
        starts_at__lt=s["ends_at"],
        ends_at__gt=s["starts_at"],
        term_start__lte=s["term_end"],
        term_end__gte=s["term_start"],
    )
    if overlap.filter(course=course).exists():
        raise ValidationError({"starts_at": gettext_lazy("与本课程已有课表时间重叠")})
    if teacher and overlap.filter(teacher=teacher).exists():
        raise ValidationError(
            {"teacher_id": format_lazy(gettext_lazy("{name}在该时段已有其他课程"), name=teacher.name)}
        )
    subject = course.kind == Kind.SUBJECT
    if subject:
        rest = policy_resolve("subject.no_training_on_rest_days", inst.division_code)
        if rest.value:
            if s["weekday"] >= 6:
                raise rest.violation(gettext_lazy("学科类课程不得安排在休息日(周六、周日)"))
            hit = _vacation_days(inst, s["term_start"], s["term_end"])
            if hit:
                raise hit[1].violation(
                    format_lazy(
                        gettext_lazy("学科类课程不得安排在寒暑假({value}在假期内)"), value=hit[0].isoformat()
                    ),
                    date=hit[0].isoformat(),
                )
    latest = _latest_end(inst, s["term_start"])
    late = latest.value and s["ends_at"] > _clock(latest.value)
    if late and subject:
        raise latest.violation(
            format_lazy(
                gettext_lazy("培训结束时间{ends_at}晚于规定时间"), ends_at=format(s["ends_at"], "%H:%M")
            )
        )
    if teacher:
        _check_teacher(course, teacher, today, actor)
    slot = CourseSlot(course=course, teacher=teacher, **s)
    slot.full_clean()
    slot.save()
    if late:
        _violation(
            course=course,
            starts_at=_aware(s["term_start"], s["starts_at"]),
            ends_at=_aware(s["term_start"], s["ends_at"]),
            rule=latest,
            message=f"课表结束时间{s['ends_at']:%H:%M}晚于规定的{latest.value}",
            refused=False,
            source="timetable",
            ref=f"slot:{slot.pk}",
        )
    audit_record(
        actor=actor,
        action="course.slot_create",
        obj=slot,
        division_code=inst.division_code,
        changes={
            "course_id": course.pk,
            "weekday": s["weekday"],
            "time": f"{s['starts_at']:%H:%M}-{s['ends_at']:%H:%M}",
            "term": f"{s['term_start']}~{s['term_end']}",
            "teacher_id": teacher.pk if teacher else None,
        },
    )
    return slot


@transaction.atomic
def slot_delete(*, actor, slot_id: int) -> None:
    slot = CourseSlot.objects.select_related("course").filter(pk=slot_id).first()
    if slot is None:
        raise NotFound(gettext_lazy("课表"))
    inst = lock_institution(
        actor=actor, institution_id=slot.course.institution_id, institution_may_write=True
    )
    audit_record(
        actor=actor,
        action="course.slot_delete",
        obj=slot,
        division_code=inst.division_code,
        changes={"course_id": slot.course_id, "weekday": slot.weekday},
    )
    slot.delete()


# --- training hours of a lesson ---------------------------------------------------------


def _aware(d: date, t: time) -> datetime:
    return timezone.make_aware(datetime.combine(d, t))


def _short_ref(ref: str) -> str:
    """The reference as stored (64 characters): a longer one (an institution's 64-character
    event id behind its prefix) keeps its head and a digest of the whole, so two lessons
    whose ids share a long head are two records, and a retry of either is still one."""
    if len(ref) <= 64:
        return ref
    return f"{ref[:31]}#{hashlib.sha256(ref.encode()).hexdigest()[:32]}"


def _violation(*, course: Course, starts_at, ends_at, rule: Resolved, message, refused, source, ref):
    inst = course.institution
    fields = {
        "institution": inst,
        "division_code": inst.division_code,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "rule_value": rule.value,
        "set_by": rule.division_code,
        "basis": rule.basis,
        "message": message,
        "refused": refused,
    }
    if not ref:
        return HoursViolation.objects.create(course=course, source=source, rule=rule.key, **fields)
    # the same lesson sent again (a retry) is one record, even when the retry races the
    # first: get_or_create inserts inside a savepoint, and when the unique index
    # (hoursviol_one_per_ref) refuses a second row it reads the one that won
    row, _ = HoursViolation.objects.get_or_create(
        course=course, source=source, ref=ref, rule=rule.key, defaults=fields
    )
    return row


HOURS_KEYS = (
    "subject.no_training_on_rest_days",
    *VACATION_KEYS,
    "training.latest_end_offline",
    "training.latest_end_online",
)


def _hours_rules(inst: Institution, day: date) -> dict[str, Resolved]:
    """The training-hours parameters in force for the institution on ``day`` (one query)."""
    return policy_resolve_many(HOURS_KEYS, inst.division_code, on=day)


def _hours_broken(course: Course, local: datetime, rules: dict[str, Resolved]) -> list[tuple[Resolved, str]]:
    """The rules a lesson of ``course`` starting at ``local`` breaks, each with what it
    says: a subject course's lesson on a rest day, statutory holiday or vacation, and any
    lesson ending after the latest end."""
    inst = course.institution
    ends = local + timedelta(minutes=course.lesson_minutes)
    day = local.date()
    broken: list[tuple[Resolved, str]] = []
    if course.kind == Kind.SUBJECT and rules["subject.no_training_on_rest_days"].value:
        vac = vacation_on(day, inst.division_code, resolved=rules)
        if vac is not None:
            broken.append((vac, f"{day.isoformat()}在寒暑假期内，不得开展学科类培训"))
        elif is_rest_day(day):
            broken.append(
                (
                    rules["subject.no_training_on_rest_days"],
                    f"{day.isoformat()}为休息日或法定节假日，不得开展学科类培训",
                )
            )
    latest = rules[
        "training.latest_end_online" if inst.mode == Mode.ONLINE else "training.latest_end_offline"
    ]
    if latest.value:
        limit = datetime.combine(day, _clock(latest.value), tzinfo=local.tzinfo)
        if ends > limit:
            broken.append((latest, f"课时结束于{ends:%H:%M}，晚于规定的{latest.value}"))
    return broken


def _lesson_refusal(course: Course, broken: list[tuple[Resolved, str]]):
    """The refusal (a DomainError) of a subject course's lesson that broke a rule, else None."""
    if course.kind != Kind.SUBJECT or not broken:
        return None
    r, msg = broken[0]
    return r.violation(f"课时记录被拒绝：{msg}", course_id=course.pk)


def lesson_hours_clear(
    *, kind: str, lesson_minutes: int, mode: str, starts_at: datetime, values: dict
) -> bool:
    """Whether a lesson breaks none of the training-hours rules, judged on the values of
    ``HOURS_KEYS`` in force (which a hot path reads alongside its own statement). False
    sends the caller to ``lesson_hours_check``, which resolves the rules with their
    divisions and bases, records the violation and refuses where the rules say so."""
    course = Course(kind=kind, lesson_minutes=lesson_minutes, institution=Institution(mode=mode))
    rules = {k: Resolved(k, values[k], "", "", date.min) for k in HOURS_KEYS}
    local = timezone.localtime(starts_at) if timezone.is_aware(starts_at) else starts_at
    return not _hours_broken(course, local, rules)


def lesson_hours_check(*, actor, course_id: int, starts_at: datetime, ref: str = "") -> list[HoursViolation]:
    """Called by lesson recording (funds) before the lesson is written, outside its
    transaction so that the record survives a refusal. Every course: a lesson ending
    after the latest end leaves a violation record; a subject course's lesson on a rest
    day, statutory holiday or vacation, or after the latest end, is refused (raises the
    first rule broken). Returns the records for a lesson that is taken."""
    course = Course.objects.select_related("institution").filter(pk=course_id).first()
    if course is None or not (
        is_system(actor) or in_scope(course.institution, actor, regulator_department=False)
    ):
        return []  # the recording itself refuses it (not found / not yours)
    local = timezone.localtime(starts_at) if timezone.is_aware(starts_at) else starts_at
    broken = _hours_broken(course, local, _hours_rules(course.institution, local.date()))
    ends = local + timedelta(minutes=course.lesson_minutes)
    subject = course.kind == Kind.SUBJECT
    rows = [
        _violation(
            course=course,
            starts_at=local,
            ends_at=ends,
            rule=r,
            message=msg,
            refused=subject,
            source="lesson",
            ref=_short_ref(ref),
        )
        for r, msg in broken
    ]
    refusal = _lesson_refusal(course, broken)
    if refusal is not None:
        raise refusal
    return rows


HOURS_ROWS = bulk.Table(HoursViolation)


class LessonHours:
    """The training-hours rules for a batch of one institution's lessons, as
    ``lesson_hours_check`` applies them to one: each course read once, each day's
    parameters once; the violations kept until ``save`` writes them set-based (inside
    the batch's transaction: a refused lesson of a batch raises nothing)."""

    def __init__(self, course_ids):
        self._courses = {
            c.pk: c for c in Course.objects.select_related("institution").filter(pk__in=set(course_ids))
        }
        self._rules: dict[date, dict[str, Resolved]] = {}
        self._rows: dict[tuple, dict] = {}

    def check(self, course_id: int, starts_at: datetime, ref: str) -> str | None:
        """Why the lesson may not be recorded (the refusal's text, naming the rule), or
        None; any rule it broke is kept as a violation either way."""
        course = self._courses.get(course_id)
        if course is None:
            return None
        local = timezone.localtime(starts_at)
        day = local.date()
        if day not in self._rules:
            self._rules[day] = _hours_rules(course.institution, day)
        broken = _hours_broken(course, local, self._rules[day])
        inst, ref = course.institution, _short_ref(ref)
        for r, msg in broken:
            self._rows.setdefault(
                (course.pk, ref, r.key),
                {
                    "institution_id": inst.pk,
                    "course_id": course.pk,
                    "division_code": inst.division_code,
                    "starts_at": local,
                    "ends_at": local + timedelta(minutes=course.lesson_minutes),
                    "rule": r.key,
                    "rule_value": r.value,
                    "set_by": r.division_code,
                    "basis": r.basis,
                    "message": msg,
                    "refused": course.kind == Kind.SUBJECT,
                    "source": "lesson",
                    "ref": ref,
                },
            )
        refusal = _lesson_refusal(course, broken)
        return None if refusal is None else refusal.message

    def save(self) -> int:
        """Write the violations kept, but those already recorded for the same lesson (a
        refused lesson sent again): one lookup and one insert, however many lessons."""
        if not self._rows:
            return 0
        seen = set(
            bulk.select_in(
                f"SELECT course_id, ref, rule FROM {HoursViolation._meta.db_table} "  # noqa: S608
                "WHERE source = %s AND ref {in}",
                list({ref for _, ref, _ in self._rows}),
                params=["lesson"],
            )
        )
        return HOURS_ROWS.insert(row for k, row in self._rows.items() if k not in seen)


# --- materials before sale -------------------------------------------------------------


def course_sellable(course: Course) -> None:
    """Raise unless the course may be sold: with ``materials.review_required``, none of
    its training materials may be unreviewed or rejected. Funds' order creation calls it."""
    rule = policy_resolve("materials.review_required", course.institution.division_code)
    if not rule.value:
        return
    pending = list(
        course.materials.exclude(status=MaterialStatus.APPROVED).values_list("title", "status")[:5]
    )
    if pending:
        labels = chinese_labels(MaterialStatus)
        names = "、".join(f"《{t}》({labels[s]})" for t, s in pending)
        raise rule.violation(
            format_lazy(gettext_lazy("课程的培训材料{names}未通过审核，不得销售"), names=names),
            materials=[t for t, _ in pending],
        )


# --- whitelisting -----------------------------------------------------------------------


def whitelist_gate(inst: Institution, day: date) -> None:
    """The registry rules a whitelisting must meet beyond licences and status."""
    unvetted = staff_unvetted(inst, day)
    if unvetted:
        rule = policy_resolve("staff.background_check_required", inst.division_code)
        names = "、".join(s.name for s in unvetted[:5])
        raise rule.violation(
            format_lazy(
                gettext_lazy("机构有{n_unvetted}名从业人员未经无犯罪记录查询({names})，不能列入白名单"),
                n_unvetted=len(unvetted),
                names=names,
            ),
            staff_ids=[s.pk for s in unvetted],
        )
    gaps = disclosure_gaps(inst, day)
    if gaps:
        rule = policy_resolve("disclosure.required_items", inst.division_code)
        labels = chinese_labels(DisclosureItem)
        raise rule.violation(
            format_lazy(
                gettext_lazy("公示栏缺少：{value}，不能列入白名单"),
                value="、".join(str(labels.get(g, g)) for g in gaps),
            ),
            missing=gaps,
        )
