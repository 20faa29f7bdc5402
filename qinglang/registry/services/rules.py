"""Rules in force on the registry's objects: staff admission (看好人: qualification,
background check, the practice-ban list), timetables and training hours, materials review
before sale, the disclosure board, and the school calendar of a division. Every refusal
names the policy key, its value, the division that set it and the basis
(``Resolved.violation``)."""

import hashlib
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from qinglang.accounts.permissions import is_system
from qinglang.accounts.scope import actor_for, in_scope
from qinglang.core.audit import audit_record
from qinglang.core.calendar import is_rest_day, vacation_on
from qinglang.core.crypto import blind_index
from qinglang.core.errors import DomainError, NotFound
from qinglang.core.policy import PolicyBatch, Resolved, policy_resolve
from qinglang.core.validators import mask_name, mask_resident_id, validate_resident_id

from ..models import (
    Course,
    CourseSlot,
    DisclosureItem,
    DisclosureNote,
    HoursViolation,
    Institution,
    Kind,
    Licence,
    LicenceKind,
    MaterialStatus,
    Mode,
    PracticeBan,
    Staff,
    StaffRole,
)
from .common import lock_institution, require_regulator_for_division

__all__ = [
    "COURSE_CHECKERS",
    "NOT_ELIGIBLE_MESSAGE",
    "course_checker_register",
    "course_sellable",
    "disclosure_board",
    "disclosure_gaps",
    "disclosure_gaps_many",
    "disclosure_publish",
    "lesson_hours_check",
    "practice_ban_check",
    "practice_ban_enter",
    "practice_ban_lift",
    "slot_create",
    "slot_delete",
    "staff_unvetted",
    "whitelist_gate",
]

NOT_ELIGIBLE_BASIS = "《未成年人保护法》第六十二条及校外培训从业人员限制从业规定"
NOT_ELIGIBLE_MESSAGE = f"不符合从业条件 (依据：{NOT_ELIGIBLE_BASIS})"

# --- course submission checkers --------------------------------------------------------
# Upper apps (e.g. screening of course texts) register a callable(course, institution)
# that raises DomainError to refuse a course at submission; registry runs them in order.
COURSE_CHECKERS: list[Callable] = []


def course_checker_register(fn: Callable) -> Callable:
    if fn not in COURSE_CHECKERS:
        COURSE_CHECKERS.append(fn)
    return fn


# --- practice ban (限制从业) ------------------------------------------------------------


def _ban_in_force(digest: str, day: date) -> PracticeBan | None:
    if not digest:
        return None
    return (
        PracticeBan.objects.filter(resident_id_digest=digest, lifted_on__isnull=True, starts_on__lte=day)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=day))
        .order_by("-starts_on", "-id")
        .first()
    )


def _is_regulator(actor) -> bool:
    """May see the decision behind a refusal: a system job, the platform admin, a
    regulator — never an institution's user."""
    if is_system(actor):
        return True
    a = actor_for(actor)
    return (a.is_platform_admin or bool(a.regulator)) and not a.institution_ids


def practice_ban_check(*, actor, digest: str, day: date | None = None) -> None:
    """Refuse hiring a banned person, anywhere. A regulator is told the decision; an
    institution only that the person does not meet the conditions, and on what basis."""
    ban = _ban_in_force(digest, day or timezone.localdate())
    if ban is None:
        return
    if _is_regulator(actor):
        exc = DomainError(
            "not_eligible",
            f"{NOT_ELIGIBLE_MESSAGE}：限制从业决定 {ban.decision_no}({ban.authority})",
            {"decision_no": ban.decision_no, "authority": ban.authority, "ban_id": ban.pk},
            status=422,
        )
    else:
        exc = DomainError("not_eligible", NOT_ELIGIBLE_MESSAGE, None, status=422)
    exc.ban_id = ban.pk  # for practice_ban_refusal_record; never shown to the institution
    raise exc


def practice_ban_refusal_record(*, actor, exc: DomainError, institution: Institution) -> None:
    """Keep, on the ban, that a hire was refused (the hiring write itself rolled back):
    regulators see how often and where the banned person tried; the institution is told
    nothing more than the refusal."""
    ban_id = getattr(exc, "ban_id", None)
    if ban_id is None:
        return
    today = timezone.localdate()
    with transaction.atomic():
        PracticeBan.objects.filter(pk=ban_id).update(
            refused_hires=F("refused_hires") + 1, last_refused_on=today
        )
        ban = PracticeBan.objects.get(pk=ban_id)
        audit_record(
            actor=actor,
            action="practice_ban.hire_refused",
            obj=ban,
            division_code=institution.division_code,
            changes={"institution_id": institution.pk, "institution": institution.name},
        )


@transaction.atomic
def practice_ban_enter(
    *,
    actor,
    resident_id: str | None = None,
    digest: str | None = None,
    name: str = "",
    authority: str,
    decision_no: str,
    basis: str,
    division_code: str,
    starts_on: date,
    ends_on: date | None = None,
    source: str = "other_authority",
    source_ref: str = "",
) -> PracticeBan:
    """Enter a ban on the list: from a penalty decision (enforcement calls this) or from
    another authority (courts, public security). Staff currently employed under the same
    ID anywhere leave their posts' timetables: they are flagged on the staff lists."""
    require_regulator_for_division(actor=actor, division_code=division_code)
    masked = ""
    if resident_id:
        rid = validate_resident_id(str(resident_id).strip().upper())
        digest = blind_index(rid)
        masked = mask_resident_id(rid)
    if not digest:
        raise ValidationError({"resident_id": "请填写被限制从业人员的身份证号"})
    errors = {}
    for field, v in (("authority", authority), ("decision_no", decision_no), ("basis", basis)):
        if not (v or "").strip():
            errors[field] = "必填"
    if ends_on and ends_on < starts_on:
        errors["ends_on"] = "截止日期不能早于起始日期"
    if errors:
        raise ValidationError(errors)
    if not masked:
        masked = (
            Staff.objects.filter(resident_id_digest=digest)
            .values_list("resident_id_masked", flat=True)
            .first()
            or ""
        )
    name = (name or "").strip()
    try:
        with transaction.atomic():
            ban = PracticeBan.objects.create(
                resident_id_digest=digest,
                name_masked=(name[:1] + "*" * (len(name) - 1)) if name else "",
                resident_id_masked=masked,
                authority=authority.strip(),
                decision_no=decision_no.strip(),
                basis=basis.strip(),
                division_code=division_code,
                starts_on=starts_on,
                ends_on=ends_on,
                source=source,
                source_ref=source_ref,
                entered_by_id=getattr(actor, "pk", None),
            )
    except IntegrityError:
        raise DomainError("duplicate_ban", "该人员已按此决定列入限制从业名单", status=409) from None
    audit_record(
        actor=actor,
        action="practice_ban.enter",
        obj=ban,
        division_code=division_code,
        changes={"decision_no": ban.decision_no, "resident_id": masked, "source": source},
    )
    return ban


@transaction.atomic
def practice_ban_lift(*, actor, ban_id: int, reason: str, day: date | None = None) -> PracticeBan:
    ban = PracticeBan.objects.select_for_update().filter(pk=ban_id).first()
    if ban is None:
        raise NotFound("限制从业记录")
    require_regulator_for_division(actor=actor, division_code=ban.division_code)
    if not (reason or "").strip():
        raise ValidationError({"reason": "请填写解除理由"})
    if ban.lifted_on:
        raise DomainError("already_lifted", "该限制从业记录已解除")
    ban.lifted_on = day or timezone.localdate()
    ban.save(update_fields=["lifted_on"])
    audit_record(
        actor=actor,
        action="practice_ban.lift",
        obj=ban,
        division_code=ban.division_code,
        changes={"lifted_on": [None, str(ban.lifted_on)], "reason": reason.strip()},
    )
    return ban


# --- staff vetting and the timetable ---------------------------------------------------


def _active_staff(inst_id: int, day: date):
    return Staff.objects.filter(institution_id=inst_id).filter(Q(left_on__isnull=True) | Q(left_on__gt=day))


def staff_unvetted(inst: Institution, day: date | None = None) -> list[Staff]:
    """Active staff without a background check, where the policy requires one."""
    rule = policy_resolve("staff.background_check_required", inst.division_code)
    if not rule.value:
        return []
    return list(_active_staff(inst.pk, day or timezone.localdate()).filter(background_check_on__isnull=True))


def _check_teacher(course: Course, teacher: Staff, day: date, actor) -> None:
    inst = course.institution
    if teacher.institution_id != inst.pk:
        raise ValidationError({"teacher_id": "授课人员须为本机构从业人员"})
    if teacher.left_on and teacher.left_on <= day:
        raise ValidationError({"teacher_id": "该人员已离职"})
    practice_ban_check(actor=actor, digest=teacher.resident_id_digest, day=day)
    if course.kind == Kind.SUBJECT and not teacher.teacher_qualification_no:
        rule = policy_resolve("staff.subject_teacher_needs_qualification", inst.division_code)
        if rule.value:
            raise rule.violation(f"{teacher.name}无教师资格证，不得担任学科类课程教学", staff_id=teacher.pk)
    if teacher.background_check_on is None:
        rule = policy_resolve("staff.background_check_required", inst.division_code)
        if rule.value:
            raise rule.violation(
                f"{teacher.name}未经无犯罪记录查询，不得安排面向未成年人的课程", staff_id=teacher.pk
            )


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
        errors["weekday"] = "星期应为1(周一)到7(周日)"
    for f, label in (("starts_at", "开始时间"), ("ends_at", "结束时间")):
        v = data.get(f)
        try:
            out[f] = v if isinstance(v, time) else time.fromisoformat(str(v))
        except (TypeError, ValueError):
            errors[f] = f"{label}应为“时:分”，如 18:30"
    for f, label in (("term_start", "起始日期"), ("term_end", "截止日期")):
        v = data.get(f)
        try:
            out[f] = v if isinstance(v, date) else date.fromisoformat(str(v))
        except (TypeError, ValueError):
            errors[f] = f"{label}应为 YYYY-MM-DD"
    if errors:
        raise ValidationError(errors)
    if out["ends_at"] <= out["starts_at"]:
        raise ValidationError({"ends_at": "结束时间须晚于开始时间"})
    if out["term_end"] < out["term_start"]:
        raise ValidationError({"term_end": "截止日期不能早于起始日期"})
    return out


@transaction.atomic
def slot_create(*, actor, course_id: int, data: dict) -> CourseSlot:
    """Add a line to a course's timetable. Refused: overlapping lines of the course (or of
    the teacher), a subject course on a rest day or in a vacation or ending after the
    latest end; a teacher without qualification (subject) or background check, or banned.
    A non-subject line ending after the latest end is kept and recorded as a violation."""
    course = Course.objects.select_related("institution").filter(pk=course_id).first()
    if course is None:
        raise NotFound("课程")
    inst = lock_institution(actor=actor, institution_id=course.institution_id, institution_may_write=True)
    course.institution = inst
    s = _parse_slot(data)
    today = timezone.localdate()
    teacher = None
    if data.get("teacher_id"):
        teacher = Staff.objects.filter(pk=data["teacher_id"], institution_id=inst.pk).first()
        if teacher is None:
            raise ValidationError({"teacher_id": "授课人员须为本机构从业人员"})
    overlap = CourseSlot.objects.filter(
        weekday=s["weekday"],
        starts_at__lt=s["ends_at"],
        ends_at__gt=s["starts_at"],
        term_start__lte=s["term_end"],
        term_end__gte=s["term_start"],
    )
    if overlap.filter(course=course).exists():
        raise ValidationError({"starts_at": "与本课程已有课表时间重叠"})
    if teacher and overlap.filter(teacher=teacher).exists():
        raise ValidationError({"teacher_id": f"{teacher.name}在该时段已有其他课程"})
    subject = course.kind == Kind.SUBJECT
    if subject:
        rest = policy_resolve("subject.no_training_on_rest_days", inst.division_code)
        if rest.value:
            if s["weekday"] >= 6:
                raise rest.violation("学科类课程不得安排在休息日(周六、周日)")
            hit = _vacation_days(inst, s["term_start"], s["term_end"])
            if hit:
                raise hit[1].violation(
                    f"学科类课程不得安排在寒暑假({hit[0].isoformat()}在假期内)", date=hit[0].isoformat()
                )
    latest = _latest_end(inst, s["term_start"])
    late = latest.value and s["ends_at"] > _clock(latest.value)
    if late and subject:
        raise latest.violation(f"培训结束时间{s['ends_at']:%H:%M}晚于规定时间")
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
        raise NotFound("课表")
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
    inst = course.institution
    local = timezone.localtime(starts_at) if timezone.is_aware(starts_at) else starts_at
    ends = local + timedelta(minutes=course.lesson_minutes)
    day = local.date()
    subject = course.kind == Kind.SUBJECT
    broken: list[tuple[Resolved, str]] = []
    if subject:
        rest = policy_resolve("subject.no_training_on_rest_days", inst.division_code, on=day)
        if rest.value:
            vac = vacation_on(day, inst.division_code)
            if vac is not None:
                broken.append((vac, f"{day.isoformat()}在寒暑假期内，不得开展学科类培训"))
            elif is_rest_day(day):
                broken.append((rest, f"{day.isoformat()}为休息日或法定节假日，不得开展学科类培训"))
    latest = _latest_end(inst, day)
    if latest.value:
        limit = datetime.combine(day, _clock(latest.value), tzinfo=local.tzinfo)
        if ends > limit:
            broken.append((latest, f"课时结束于{ends:%H:%M}，晚于规定的{latest.value}"))
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
    if subject and broken:
        r, msg = broken[0]
        raise r.violation(f"课时记录被拒绝：{msg}", course_id=course.pk)
    return rows


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
        labels = dict(MaterialStatus.choices)
        names = "、".join(f"《{t}》({labels[s]})" for t, s in pending)
        raise rule.violation(f"课程的培训材料{names}未通过审核，不得销售", materials=[t for t, _ in pending])


# --- disclosure board ------------------------------------------------------------------


def _facts(inst: Institution, day: date) -> dict[str, list[str]]:
    """What the registry itself knows for each item of the board."""
    out: dict[str, list[str]] = {k: [] for k in DisclosureItem.values}
    for lic in inst.licences.all():
        if not lic.is_valid_on(day):
            continue
        line = f"{lic.get_kind_display()} {lic.number}" + (f"({lic.issuer})" if lic.issuer else "")
        if lic.valid_until:
            line += f"，有效期至{lic.valid_until.isoformat()}"
        if lic.kind == LicenceKind.SCHOOL_PERMIT:
            out["permit"].append(line)
        elif lic.kind in (LicenceKind.BUSINESS_LICENSE, LicenceKind.NONPROFIT_REGISTRATION):
            out["registration"].append(line)
        elif lic.kind == LicenceKind.FIRE_ACCEPTANCE:
            out["safety"].append(line)
    for s in _active_staff(inst.pk, day).filter(role=StaffRole.TEACHER).order_by("id")[:50]:
        q = f"教师资格证 {s.teacher_qualification_no}" if s.teacher_qualification_no else "无教师资格证"
        out["teachers"].append(f"{mask_name(s.name)}　{s.subjects or '—'}　{q}")
    for c in inst.courses.filter(approval_status="approved").order_by("id")[:50]:
        out["fees"].append(f"{c.name}：{c.unit_price_fen / 100:.2f}元/课时，共{c.lessons}课时")
        out["content"].append(f"{c.name}({c.get_kind_display()}，{c.get_stage_display()})")
    return out


def disclosure_board(inst: Institution, day: date | None = None) -> list[dict]:
    """The board: each required item (``disclosure.required_items`` for the division)
    with what is shown and whether it is present."""
    day = day or timezone.localdate()
    rule = policy_resolve("disclosure.required_items", inst.division_code)
    facts = _facts(inst, day)
    notes = dict(inst.disclosures.values_list("item", "text"))
    labels = dict(DisclosureItem.choices)
    out = []
    for item in rule.value or []:
        lines = [*facts.get(item, []), *([notes[item]] if notes.get(item) else [])]
        # licences can only come from the registry: a published note never stands in for them
        present = bool(facts.get(item)) if item in ("permit", "registration") else bool(lines)
        out.append({"item": item, "label": labels.get(item, item), "lines": lines, "present": present})
    return out


def disclosure_gaps(inst: Institution, day: date | None = None) -> list[str]:
    return [b["item"] for b in disclosure_board(inst, day) if not b["present"]]


def disclosure_gaps_many(institutions: QuerySet, day: date | None = None) -> dict[int, list[str]]:
    """``disclosure_gaps`` for every institution of ``institutions`` at once, set-based: a
    fixed handful of queries however many there are (the institutions, valid licences,
    active teachers, approved courses, published notes, and the policy figures) — the
    same presence test as ``disclosure_board``. Only institutions with a gap are keyed."""
    day = day or timezone.localdate()
    ids = institutions.values("id")
    rows = list(institutions.values_list("id", "division_code"))
    licences = (
        Licence.objects.filter(institution_id__in=ids, revoked=False)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=day))
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=day))
        .values_list("institution_id", "kind")
    )
    facts: dict[str, set[int]] = {k: set() for k in DisclosureItem.values}
    item_of = {
        LicenceKind.SCHOOL_PERMIT: "permit",
        LicenceKind.BUSINESS_LICENSE: "registration",
        LicenceKind.NONPROFIT_REGISTRATION: "registration",
        LicenceKind.FIRE_ACCEPTANCE: "safety",
    }
    for inst_id, kind in licences:
        if kind in item_of:
            facts[item_of[kind]].add(inst_id)
    facts["teachers"] = set(
        Staff.objects.filter(institution_id__in=ids, role=StaffRole.TEACHER)
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=day))
        .values_list("institution_id", flat=True)
        .distinct()
    )
    courses = set(
        Course.objects.filter(institution_id__in=ids, approval_status="approved")
        .values_list("institution_id", flat=True)
        .distinct()
    )
    facts["fees"] = facts["content"] = courses
    noted = set(
        DisclosureNote.objects.filter(institution_id__in=ids)
        .exclude(text="")
        .values_list("institution_id", "item")
    )
    required = PolicyBatch(["disclosure.required_items"], on=day)
    out: dict[int, list[str]] = {}
    for inst_id, division_code in rows:
        gaps = []
        for item in required.value("disclosure.required_items", division_code) or []:
            present = inst_id in facts.get(item, ())
            if item not in ("permit", "registration"):  # a note never stands in for a licence
                present = present or (inst_id, item) in noted
            if not present:
                gaps.append(item)
        if gaps:
            out[inst_id] = gaps
    return out


@transaction.atomic
def disclosure_publish(*, actor, institution_id: int, items: dict[str, str]) -> list[DisclosureNote]:
    """The institution publishes (or clears, with an empty text) items of its board."""
    inst = lock_institution(actor=actor, institution_id=institution_id, institution_may_write=True)
    bad = [k for k in items if k not in DisclosureItem.values]
    if bad:
        raise ValidationError({"items": f"未知的公示事项：{'、'.join(bad)}"})
    too_long = [k for k, v in items.items() if len(v or "") > 2000]
    if too_long:
        raise ValidationError({"items": "每项公示内容不超过2000字"})
    changes = {}
    for item, text in items.items():
        text = (text or "").strip()
        old = DisclosureNote.objects.filter(institution=inst, item=item).first()
        if not text:
            if old:
                changes[item] = [old.text, None]
                old.delete()
            continue
        if old and old.text == text:
            continue
        DisclosureNote.objects.update_or_create(institution=inst, item=item, defaults={"text": text})
        changes[item] = [old.text if old else None, text]
    if changes:
        audit_record(actor=actor, action="disclosure.publish", obj=inst, changes=changes)
    return list(inst.disclosures.all())


def whitelist_gate(inst: Institution, day: date) -> None:
    """The registry rules a whitelisting must meet beyond licences and status."""
    unvetted = staff_unvetted(inst, day)
    if unvetted:
        rule = policy_resolve("staff.background_check_required", inst.division_code)
        names = "、".join(s.name for s in unvetted[:5])
        raise rule.violation(
            f"机构有{len(unvetted)}名从业人员未经无犯罪记录查询({names})，不能列入白名单",
            staff_ids=[s.pk for s in unvetted],
        )
    gaps = disclosure_gaps(inst, day)
    if gaps:
        rule = policy_resolve("disclosure.required_items", inst.division_code)
        labels = dict(DisclosureItem.choices)
        raise rule.violation(
            f"公示栏缺少：{'、'.join(str(labels.get(g, g)) for g in gaps)}，不能列入白名单", missing=gaps
        )
