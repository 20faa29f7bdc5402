"""An institution's sites, staff, courses and training materials, and its users."""

import copy
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.administration import initial_password, may_administer_accounts, membership_add
from qinglang.accounts.models import INSTITUTION_ROLES, Membership, Role
from qinglang.accounts.permissions import is_system, user_id
from qinglang.accounts.services import membership_grant, user_create
from qinglang.core.audit import audit_record, diff, snapshot
from qinglang.core.crypto import blind_index, encrypt
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.i18n import chinese_label
from qinglang.core.policy import policy_resolve
from qinglang.core.validators import mask_resident_id, validate_resident_id

from ..hooks import check_texts
from ..models import (
    MATERIAL_STATES,
    ApprovalStatus,
    Course,
    Institution,
    InstitutionCategory,
    Kind,
    MaterialStatus,
    Site,
    Staff,
    StaffRole,
    Stage,
    TrainingMaterial,
)
from .common import check_division, lock_institution
from .rules import COURSE_CHECKERS
from .staff_admission import practice_ban_check, practice_ban_refusal_record

__all__ = [
    "course_create",
    "course_review",
    "course_update",
    "institution_admin_invite",
    "institution_member_grant",
    "institution_user_create",
    "material_resubmit",
    "material_review",
    "material_submit",
    "site_create",
    "site_update",
    "staff_create",
    "staff_leave",
    "staff_update",
]

SITE_FIELDS = ["name", "address", "division_code", "area_sqm", "is_primary", "active"]
STAFF_FIELDS = [
    "name",
    "role",
    "teaches_subject",
    "subjects",
    "teacher_qualification_no",
    "background_check_on",
    "hired_on",
    "left_on",
]
COURSE_FIELDS = [
    "name",
    "kind",
    "stage",
    "lessons",
    "lesson_minutes",
    "unit_price_fen",
    "class_size",
    "description",
]


def _owned(model, *, pk: int, institution_id: int | None = None):
    obj = model.objects.filter(pk=pk).first()
    if obj is None or (institution_id is not None and obj.institution_id != institution_id):
        raise NotFound()
    return obj


def _site_apply(site: Site, inst, data: dict) -> None:
    for f in SITE_FIELDS:
        if f in data:
            setattr(site, f, data[f].strip() if isinstance(data[f], str) else data[f])
    d = check_division(site.division_code, min_len=9)
    if not d.code.startswith(inst.division_code[:6]):
        raise ValidationError({"division_code": _("场所须位于机构登记所在区县")})
    if not site.address:
        raise ValidationError({"address": _("请填写场所地址")})


@transaction.atomic
def site_create(*, actor, institution_id: int, data: dict) -> Site:
    inst = lock_institution(actor=actor, institution_id=institution_id, institution_may_write=True)
    site = Site(institution=inst)
    _site_apply(site, inst, data)
    site.full_clean()
    site.save()
    audit_record(actor=actor, action="site.create", obj=site, changes=diff({}, snapshot(site, SITE_FIELDS)))
    return site


@transaction.atomic
def site_update(*, actor, site_id: int, data: dict) -> Site:
    site = _owned(Site, pk=site_id)
    inst = lock_institution(actor=actor, institution_id=site.institution_id, institution_may_write=True)
    before = snapshot(site, SITE_FIELDS)
    _site_apply(site, inst, data)
    site.full_clean()
    site.save()
    audit_record(
        actor=actor,
        action="site.update",
        obj=site,
        changes=diff(before, snapshot(site, SITE_FIELDS)),
    )
    return site


def _staff_apply(staff: Staff, data: dict) -> None:
    for f in STAFF_FIELDS:
        if f in data:
            setattr(staff, f, data[f].strip() if isinstance(data[f], str) else data[f])
    if staff.role not in StaffRole.values:
        raise ValidationError({"role": format_lazy(_("未知岗位：{role}"), role=staff.role)})
    if data.get("resident_id"):
        rid = validate_resident_id(str(data["resident_id"]).strip().upper())
        staff.resident_id_encrypted = encrypt(rid)
        staff.resident_id_digest = blind_index(rid)
        staff.resident_id_masked = mask_resident_id(rid)
    if not staff.name:
        raise ValidationError({"name": _("请填写姓名")})
    if staff.left_on and staff.hired_on and staff.left_on < staff.hired_on:
        raise ValidationError({"left_on": _("离职日期不能早于入职日期")})


def _staff_admit(staff: Staff, actor, data: dict) -> None:
    """看好人: a person on the practice-ban list is not hired (nor re-identified)."""
    if data.get("resident_id") or staff.pk is None:
        practice_ban_check(actor=actor, digest=staff.resident_id_digest)


def staff_create(*, actor, institution_id: int, data: dict) -> Staff:
    """Register a staff member (从业人员); the ID number is encrypted at rest. A hire
    refused for a practice ban is kept on the ban (``practice_ban_refusal_record``)."""
    try:
        return _staff_create(actor=actor, institution_id=institution_id, data=data)
    except DomainError as exc:
        if exc.code == "not_eligible":
            inst = Institution.objects.filter(pk=institution_id).first()
            if inst is not None:
                practice_ban_refusal_record(actor=actor, exc=exc, institution=inst)
        raise


@transaction.atomic
def _staff_create(*, actor, institution_id: int, data: dict) -> Staff:
    inst = lock_institution(actor=actor, institution_id=institution_id, institution_may_write=True)
    staff = Staff(institution=inst)
    _staff_apply(staff, data)
    _staff_admit(staff, actor, data)
    if (
        staff.resident_id_digest
        and Staff.objects.filter(institution=inst, resident_id_digest=staff.resident_id_digest).exists()
    ):
        raise DomainError("duplicate_staff", _("该身份证号的人员已登记"))
    staff.full_clean()
    staff.save()
    audit_record(
        actor=actor,
        action="staff.create",
        obj=staff,
        division_code=inst.division_code,
        changes={
            **diff({}, snapshot(staff, STAFF_FIELDS)),
            "resident_id": staff.resident_id_masked,
        },
    )
    return staff


@transaction.atomic
def staff_update(*, actor, staff_id: int, data: dict) -> Staff:
    staff = _owned(Staff, pk=staff_id)
    inst = lock_institution(actor=actor, institution_id=staff.institution_id, institution_may_write=True)
    before = {**snapshot(staff, STAFF_FIELDS), "resident_id": staff.resident_id_masked}
    _staff_apply(staff, data)
    _staff_admit(staff, actor, data)
    if (
        staff.resident_id_digest
        and Staff.objects.filter(institution=inst, resident_id_digest=staff.resident_id_digest)
        .exclude(pk=staff.pk)
        .exists()
    ):
        raise DomainError("duplicate_staff", _("该身份证号的人员已登记"))
    staff.full_clean()
    staff.save()
    audit_record(
        actor=actor,
        action="staff.update",
        obj=staff,
        division_code=inst.division_code,
        changes=diff(before, {**snapshot(staff, STAFF_FIELDS), "resident_id": staff.resident_id_masked}),
    )
    return staff


def staff_leave(*, actor, staff_id: int, left_on: date) -> Staff:
    return staff_update(actor=actor, staff_id=staff_id, data={"left_on": left_on})


def _course_apply(course: Course, inst, data: dict) -> None:
    for f in COURSE_FIELDS:
        if f in data:
            setattr(course, f, data[f].strip() if isinstance(data[f], str) else data[f])
    errors = {}
    if course.kind not in Kind.values:
        errors["kind"] = format_lazy(_("未知培训类型：{kind}"), kind=course.kind)
    if course.stage not in Stage.values:
        errors["stage"] = format_lazy(_("未知学段：{stage}"), stage=course.stage)
    for f in ("lessons", "lesson_minutes", "unit_price_fen"):
        v = getattr(course, f)
        if not isinstance(v, int) or isinstance(v, bool) or v < (0 if f == "unit_price_fen" else 1):
            errors[f] = _("须为正整数") + (_("(单位：分)") if f == "unit_price_fen" else "")
    if errors:
        raise ValidationError(errors)
    if course.kind == Kind.SUBJECT and inst.category != InstitutionCategory.SUBJECT:
        raise DomainError(
            "kind_mismatch", _("非学科类机构不得开设学科类课程"), {"kind": course.kind}, status=422
        )
    if course.kind == Kind.SUBJECT:
        if course.stage == Stage.PRESCHOOL:
            rule = policy_resolve("preschool.subject_training_allowed", inst.division_code)
            if not rule.value:
                raise rule.violation(_("不得对学龄前儿童开展学科类培训"))
        rule = policy_resolve("guided_price.subject_per_lesson_fen", inst.division_code)
        if rule.value is not None and course.unit_price_fen > int(rule.value):
            raise rule.violation(
                format_lazy(
                    _("课时单价{unit_price_fen}分高于政府指导价"), unit_price_fen=course.unit_price_fen
                ),
                unit_price_fen=course.unit_price_fen,
            )
    for check in COURSE_CHECKERS:  # upper apps' checks of what a course says it teaches
        check(course, inst)


def _course_screen(actor, course: Course, inst) -> list:
    """The upper apps' text checks (hooks.TEXT_CHECKERS); a held course is pending."""
    findings = check_texts(
        actor=actor,
        source="course",
        obj=course,
        institution=inst,
        texts={"name": course.name, "description": course.description},
    )
    if findings and course.approval_status != ApprovalStatus.PENDING:
        course.approval_status = ApprovalStatus.PENDING
        course.save(update_fields=["approval_status"])
    return findings


@transaction.atomic
def course_create(*, actor, institution_id: int, data: dict) -> Course:
    """A new course starts pending approval; a subject-type course priced above the guided
    price (政府指导价) in force for the institution's division is refused."""
    inst = lock_institution(actor=actor, institution_id=institution_id, institution_may_write=True)
    course = Course(institution=inst)
    _course_apply(course, inst, data)
    course.full_clean()
    course.save()
    course.findings = _course_screen(actor, course, inst)
    audit_record(
        actor=actor,
        action="course.create",
        obj=course,
        division_code=inst.division_code,
        changes=diff({}, snapshot(course, COURSE_FIELDS)),
    )
    return course


@transaction.atomic
def course_update(*, actor, course_id: int, data: dict) -> Course:
    course = _owned(Course, pk=course_id)
    inst = lock_institution(actor=actor, institution_id=course.institution_id, institution_may_write=True)
    before = snapshot(course, [*COURSE_FIELDS, "approval_status"])
    _course_apply(course, inst, data)
    if (
        {"unit_price_fen", "lessons", "kind", "stage"} & set(data)
    ) and course.approval_status == ApprovalStatus.APPROVED:
        course.approval_status = ApprovalStatus.PENDING  # a changed course is reviewed again
    course.full_clean()
    course.save()
    course.findings = _course_screen(actor, course, inst)
    audit_record(
        actor=actor,
        action="course.update",
        obj=course,
        division_code=inst.division_code,
        changes=diff(before, snapshot(course, [*COURSE_FIELDS, "approval_status"])),
    )
    return course


@transaction.atomic
def course_review(*, actor, course_id: int, approve: bool) -> Course:
    course = _owned(Course, pk=course_id)
    inst = lock_institution(actor=actor, institution_id=course.institution_id)
    old = course.approval_status
    course.approval_status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    course.save(update_fields=["approval_status"])
    audit_record(
        actor=actor,
        action="course.review",
        obj=course,
        division_code=inst.division_code,
        changes={"approval_status": [old, course.approval_status]},
    )
    return course


@transaction.atomic
def material_submit(*, actor, institution_id: int, data: dict) -> TrainingMaterial:
    inst = lock_institution(actor=actor, institution_id=institution_id, institution_may_write=True)
    course = None
    if data.get("course_id"):
        course = Course.objects.filter(pk=data["course_id"], institution=inst).first()
        if course is None:
            raise ValidationError({"course_id": _("课程不存在或不属于本机构")})
    m = TrainingMaterial(
        institution=inst,
        course=course,
        title=(data.get("title") or "").strip(),
        subject=(data.get("subject") or "").strip(),
        stage=data.get("stage") or "",
        publisher=(data.get("publisher") or "").strip(),
    )
    if not m.title:
        raise ValidationError({"title": _("请填写材料名称")})
    if m.stage and m.stage not in Stage.values:
        raise ValidationError({"stage": format_lazy(_("未知学段：{stage}"), stage=m.stage)})
    m.full_clean()
    m.save()
    m.findings = check_texts(
        actor=actor,
        source="material",
        obj=m,
        institution=inst,
        texts={"name": m.title, "description": data.get("content_text") or ""},
    )
    audit_record(
        actor=actor,
        action="material.submit",
        obj=m,
        division_code=inst.division_code,
        changes={"title": [None, m.title], "status": [None, m.status], "course_id": m.course_id},
    )
    return m


def _material_move(
    *, actor, material_id: int, to: str, reason: str = "", regulator: bool
) -> TrainingMaterial:
    m = _owned(TrainingMaterial, pk=material_id)
    inst = lock_institution(actor=actor, institution_id=m.institution_id, institution_may_write=not regulator)
    m = TrainingMaterial.objects.select_for_update().get(pk=m.pk)
    MATERIAL_STATES.check(m.status, to)
    if to == MaterialStatus.REJECTED and not reason.strip():
        raise ValidationError({"reason": _("审核不通过须说明理由")})
    m.reject_reason = reason.strip() if to == MaterialStatus.REJECTED else ""
    fields = ["reject_reason"]
    if regulator:
        m.reviewed_by_id = user_id(actor)
        m.reviewed_at = timezone.now()
        fields += ["reviewed_by_id", "reviewed_at"]
    moved = copy.copy(m)
    moved.status = to
    moved.full_clean()  # the model's rules on the material as it will be
    return MATERIAL_STATES.move(
        m, to, actor=actor, reason=reason, fields=fields, division_code=inst.division_code
    )


@transaction.atomic
def material_review(*, actor, material_id: int, approve: bool, reason: str = "") -> TrainingMaterial:
    """审核培训材料: approve, or reject with a reason."""
    to = MaterialStatus.APPROVED if approve else MaterialStatus.REJECTED
    return _material_move(actor=actor, material_id=material_id, to=to, reason=reason, regulator=True)


@transaction.atomic
def material_resubmit(*, actor, material_id: int) -> TrainingMaterial:
    return _material_move(actor=actor, material_id=material_id, to=MaterialStatus.SUBMITTED, regulator=False)


@transaction.atomic
def institution_user_create(
    *,
    actor,
    institution_id: int,
    username: str,
    password: str,
    display_name: str = "",
    role: str = Role.INSTITUTION_ADMIN,
    check_password: bool = True,
    must_change_password: bool = False,
):
    """Create a login for an institution (its admin or staff)."""
    inst = lock_institution(
        actor=actor,
        institution_id=institution_id,
        institution_may_write=True,
        institution_admin_only=True,
    )
    if role not in (Role.INSTITUTION_ADMIN, Role.INSTITUTION_STAFF):
        raise ValidationError({"role": _("机构账号只能是机构管理员或机构工作人员")})
    user = user_create(
        actor=actor,
        username=username,
        password=password,
        display_name=display_name,
        check_password=check_password,
        division_code=inst.division_code,  # administered by the institution's county
        must_change_password=must_change_password,
    )
    membership_grant(actor=actor, user=user, role=role, institution_id=inst.pk)
    return user


@transaction.atomic
def institution_admin_invite(*, actor, institution_id: int, username: str, display_name: str = ""):
    """The institution's administrator login, made from its registry record by the
    platform admin or a regulator leader of its county (console and ``/api/admin``):
    returns ``(user, one-time password)``; the password is shown once and must be changed
    at first login. The name defaults to the record's legal representative."""
    if not is_system(actor) and not may_administer_accounts(actor):
        raise PermissionDeniedError(_("只有平台管理员或监管领导可以邀请机构管理员"))
    inst = lock_institution(actor=actor, institution_id=institution_id)
    plain = initial_password()
    user = institution_user_create(
        actor=actor,
        institution_id=inst.pk,
        username=username,
        password=plain,
        display_name=(display_name or "").strip() or inst.legal_representative,
        role=Role.INSTITUTION_ADMIN,
        check_password=False,
        must_change_password=True,
    )
    return user, plain


@transaction.atomic
def institution_member_grant(*, actor, institution_id: int, user_id: int, role: str) -> Membership:
    """Give an account that already exists a role in an institution (its administrator or
    staff): the platform admin, or a regulator leader for an institution and an account
    within their own prefixes. The institution is checked here (accounts, below the
    registry, cannot see it); the grant itself is the audited ``membership_add``."""
    if role not in INSTITUTION_ROLES:
        raise ValidationError({"role": _("只能授予机构管理员或机构工作人员角色")})
    if not is_system(actor) and not may_administer_accounts(actor):
        raise PermissionDeniedError(_("只有平台管理员或监管领导可以为机构授权"))
    inst = lock_institution(actor=actor, institution_id=institution_id)
    if Membership.objects.filter(user_id=user_id, role=role, institution_id=inst.pk, active=True).exists():
        label = chinese_label(Role, role)
        raise DomainError(
            "already_granted",
            format_lazy(_("该账号已是{name}的{label}"), name=inst.name, label=label),
            {"institution_id": inst.pk},
        )
    return membership_add(actor=actor, user_id=user_id, role=role, institution_id=inst.pk)
