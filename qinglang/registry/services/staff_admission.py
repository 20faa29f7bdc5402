"""Staff admission (看好人): the practice-ban list (限制从业) — its entries, the check of
a hire against it and the record of a refused hire — and the vetting of teachers put on a
timetable (qualification for subject courses, background check)."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import is_system
from qinglang.accounts.scope import actor_for
from qinglang.core.audit import audit_record
from qinglang.core.crypto import blind_index
from qinglang.core.errors import DomainError, NotFound
from qinglang.core.policy import policy_resolve
from qinglang.core.validators import mask_resident_id, validate_resident_id

from ..models import Course, Institution, Kind, PracticeBan, Staff
from .common import require_regulator_for_division

__all__ = [
    "NOT_ELIGIBLE_MESSAGE",
    "practice_ban_check",
    "practice_ban_enter",
    "practice_ban_lift",
    "staff_unvetted",
]


NOT_ELIGIBLE_BASIS = "《未成年人保护法》第六十二条及校外培训从业人员限制从业规定"


NOT_ELIGIBLE_MESSAGE = f"不符合从业条件 (依据：{NOT_ELIGIBLE_BASIS})"


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
        raise ValidationError({"resident_id": _("请填写被限制从业人员的身份证号")})
    errors = {}
    for field, v in (("authority", authority), ("decision_no", decision_no), ("basis", basis)):
        if not (v or "").strip():
            errors[field] = _("必填")
    if ends_on and ends_on < starts_on:
        errors["ends_on"] = _("截止日期不能早于起始日期")
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
        raise DomainError("duplicate_ban", _("该人员已按此决定列入限制从业名单"), status=409) from None
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
        raise NotFound(_("限制从业记录"))
    require_regulator_for_division(actor=actor, division_code=ban.division_code)
    if not (reason or "").strip():
        raise ValidationError({"reason": _("请填写解除理由")})
    if ban.lifted_on:
        raise DomainError("already_lifted", _("该限制从业记录已解除"))
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


# --- staff vetting ---------------------------------------------------------------------


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
        raise ValidationError({"teacher_id": _("授课人员须为本机构从业人员")})
    if teacher.left_on and teacher.left_on <= day:
        raise ValidationError({"teacher_id": _("该人员已离职")})
    practice_ban_check(actor=actor, digest=teacher.resident_id_digest, day=day)
    if course.kind == Kind.SUBJECT and not teacher.teacher_qualification_no:
        rule = policy_resolve("staff.subject_teacher_needs_qualification", inst.division_code)
        if rule.value:
            raise rule.violation(
                format_lazy(_("{name}无教师资格证，不得担任学科类课程教学"), name=teacher.name),
                staff_id=teacher.pk,
            )
    if teacher.background_check_on is None:
        rule = policy_resolve("staff.background_check_required", inst.division_code)
        if rule.value:
            raise rule.violation(
                format_lazy(_("{name}未经无犯罪记录查询，不得安排面向未成年人的课程"), name=teacher.name),
                staff_id=teacher.pk,
            )
