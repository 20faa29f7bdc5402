"""Institutions: registration, profile, licences and the operating-status state machine."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.models import Role
from qinglang.accounts.permissions import require_role, system
from qinglang.accounts.scope import actor_for
from qinglang.core.audit import audit_record, diff, snapshot
from qinglang.core.errors import DomainError
from qinglang.core.i18n import chinese_label, choice_display
from qinglang.core.models import Department
from qinglang.core.services import department_ensure_for_division
from qinglang.core.validators import validate_phone, validate_uscc

from .. import public_cache
from ..hooks import check_texts
from ..models import (
    CATEGORY_KINDS,
    INSTITUTION_STATES,
    Institution,
    InstitutionCategory,
    InstitutionStatus,
    Licence,
    LicenceKind,
    LicenceStatus,
    ListEntry,
    ListKind,
    Mode,
    Nature,
    NonprofitConversion,
    Stage,
)
from ..supervision import competent_department_for
from .common import (
    check_division,
    institution_save,
    lock_institution,
    require_regulator_for_division,
    require_status_authority,
)
from .moves import carry_place

__all__ = [
    "PROFILE_FIELDS",
    "check_category_kind",
    "clean_profile",
    "competent_department",
    "derive_licence_status",
    "institution_ban",
    "institution_close",
    "institution_create",
    "institution_mark_runaway",
    "institution_reactivate",
    "institution_refresh_licence_status",
    "institution_set_competent_department",
    "institution_stop_enrollment",
    "institution_suspend",
    "institution_transition",
    "institution_update",
    "licence_build",
    "licence_remove",
    "licence_set",
]

# the licences that print a business (or, for a private non-enterprise unit, activity) scope
SCOPE_KINDS = {LicenceKind.BUSINESS_LICENSE, LicenceKind.NONPROFIT_REGISTRATION}
MAX_SCOPE_CHARS = 2000

PROFILE_FIELDS = [
    "name",
    "registered_name",
    "uscc",
    "legal_representative",
    "contact_name",
    "contact_phone",
    "category",
    "kind",
    "stages",
    "mode",
    "nature",
    "nonprofit_conversion",
    "division_code",
    "address",
    "party_organisation",
    "party_charter_clause",
    "founded_on",
]
# What an institution's own users may change of their profile (the rest is the regulator's).
SELF_EDITABLE = {
    "contact_name",
    "contact_phone",
    "address",
    "party_organisation",
    "party_charter_clause",
}


def clean_profile(data: dict) -> dict:
    out = {}
    errors: dict[str, str] = {}
    for f in PROFILE_FIELDS:
        if f not in data:
            continue
        v = data[f]
        if isinstance(v, str):
            v = v.strip()
        out[f] = v
    if "uscc" in out:
        if out["uscc"]:
            try:
                out["uscc"] = validate_uscc(out["uscc"].upper())
            except ValidationError as e:
                errors["uscc"] = e.messages[0]
        else:
            out["uscc"] = None
    if out.get("contact_phone"):
        try:
            out["contact_phone"] = validate_phone(out["contact_phone"])
        except ValidationError as e:
            errors["contact_phone"] = e.messages[0]
    if "stages" in out:
        stages = out["stages"]
        if isinstance(stages, str):
            stages = [s.strip() for s in stages.split(",") if s.strip()]
        bad = [s for s in stages if s not in Stage.values]
        if bad:
            errors["stages"] = format_lazy(_("未知学段：{bad}"), bad="、".join(bad))
        out["stages"] = ",".join(s for s in Stage.values if s in stages)
    for f, choices in (
        ("category", InstitutionCategory),
        ("mode", Mode),
        ("nature", Nature),
        ("nonprofit_conversion", NonprofitConversion),
    ):
        if f in out and out[f] not in choices.values:
            errors[f] = format_lazy(_("取值无效：{value}"), value=out[f])
    if errors:
        raise ValidationError(errors)
    return out


def check_category_kind(inst: Institution) -> None:
    allowed = CATEGORY_KINDS.get(inst.category, set())
    if inst.kind not in allowed:
        raise ValidationError(
            {
                "kind": format_lazy(
                    _("培训类型与类别不符：{inst}不含{kind}"),
                    inst=choice_display(inst, "category"),
                    kind=inst.kind,
                )
            }
        )


def competent_department(inst: Institution):
    """The competent department by the who-supervises rule (the county's departments are
    created on first registration there)."""
    dept = competent_department_for(inst.kind, inst.division_code)
    if dept is None:
        department_ensure_for_division(actor=system("registry"), division_code=inst.division_code[:6])
        dept = competent_department_for(inst.kind, inst.division_code)
    return dept


@transaction.atomic
def institution_create(*, actor, data: dict) -> Institution:
    """Register an institution (登记). The competent department follows the
    who-supervises rule; the licence status starts as 无证无照 until licences are added."""
    clean = clean_profile(data)
    if not clean.get("name"):
        raise ValidationError({"name": _("请填写机构名称")})
    div = check_division(clean.get("division_code", ""))
    require_regulator_for_division(actor=actor, division_code=div.code)
    if clean.get("uscc") and Institution.objects.filter(uscc=clean["uscc"]).exists():
        raise DomainError(
            "duplicate_uscc",
            format_lazy(_("统一社会信用代码已登记：{uscc}"), uscc=clean["uscc"]),
            {"uscc": clean["uscc"]},
        )
    inst = Institution(**clean)
    if inst.category == InstitutionCategory.SUBJECT and not inst.kind:
        inst.kind = "subject"
    check_category_kind(inst)
    inst.competent_department = competent_department(inst)
    inst.full_clean()
    institution_save(inst)
    audit_record(
        actor=actor,
        action="institution.create",
        obj=inst,
        changes=diff({}, snapshot(inst, [*PROFILE_FIELDS, "competent_department_id"])),
    )
    return inst


@transaction.atomic
def institution_update(*, actor, institution_id: int, data: dict) -> Institution:
    inst = lock_institution(
        actor=actor,
        institution_id=institution_id,
        institution_may_write=True,
        institution_admin_only=True,
    )
    a = actor_for(actor)
    is_self = inst.id in a.institution_ids and not (a.is_platform_admin or a.regulator)
    clean = clean_profile(data)
    if is_self:
        forbidden = sorted(set(clean) - SELF_EDITABLE)
        if forbidden:
            raise DomainError(
                "forbidden_fields",
                format_lazy(_("机构用户不能修改：{forbidden}"), forbidden="、".join(forbidden)),
                {"fields": forbidden},
                status=403,
            )
    old_place = inst.division_code
    if "division_code" in clean:
        div = check_division(clean["division_code"])
        # nobody can move an institution out of their own reach
        require_regulator_for_division(actor=actor, division_code=div.code)
        if div.code[:6] != old_place[:6]:
            require_role(actor, {Role.PLATFORM_ADMIN}, message=_("只有平台管理员可以把机构迁移到其他区县"))
    if clean.get("uscc") and Institution.objects.filter(uscc=clean["uscc"]).exclude(pk=inst.pk).exists():
        raise DomainError(
            "duplicate_uscc",
            format_lazy(_("统一社会信用代码已登记：{uscc}"), uscc=clean["uscc"]),
            {"uscc": clean["uscc"]},
        )
    before = snapshot(inst, PROFILE_FIELDS)
    for k, v in clean.items():
        setattr(inst, k, v)
    check_category_kind(inst)
    if not inst.competent_department_overridden and ({"kind", "division_code"} & set(clean)):
        inst.competent_department = competent_department(inst)
    inst.full_clean()
    institution_save(inst)
    changes = diff(before, snapshot(inst, PROFILE_FIELDS))
    if inst.division_code != old_place:  # its orders, sites, clues… go with it
        changes["rows"] = carry_place(inst, old_place, inst.division_code)
    if changes:
        audit_record(actor=actor, action="institution.update", obj=inst, changes=changes)
    return inst


@transaction.atomic
def institution_set_competent_department(
    *, actor, institution_id: int, department_id: int, reason: str
) -> Institution:
    """The approver may override the derived competent department (谁审批、谁监管)."""
    inst = lock_institution(actor=actor, institution_id=institution_id)
    dept = Department.objects.filter(pk=department_id).first()
    if dept is None or not inst.division_code.startswith(dept.division_id):
        raise ValidationError({"department_id": _("主管部门须为机构所在地的部门")})
    if not reason.strip():
        raise ValidationError({"reason": _("请说明指定主管部门的理由")})
    before = inst.competent_department_id
    inst.competent_department = dept
    inst.competent_department_overridden = True
    institution_save(inst, ["competent_department", "competent_department_overridden", "updated_at"])
    audit_record(
        actor=actor,
        action="institution.set_competent_department",
        obj=inst,
        changes={"competent_department_id": [before, dept.pk], "reason": reason},
    )
    return inst


def derive_licence_status(licences, day: date) -> str:
    """办学许可证 × (营业执照 or 民非登记证书) → the licence status matrix."""
    valid = {lic.kind for lic in licences if lic.is_valid_on(day)}
    permit = LicenceKind.SCHOOL_PERMIT in valid
    registration = bool(valid & {LicenceKind.BUSINESS_LICENSE, LicenceKind.NONPROFIT_REGISTRATION})
    if permit and registration:
        return LicenceStatus.FULLY_LICENSED
    if permit:
        return LicenceStatus.PERMIT_ONLY
    if registration:
        return LicenceStatus.LICENSE_ONLY
    return LicenceStatus.UNLICENSED


def institution_refresh_licence_status(
    *, actor, inst: Institution, day: date | None = None, reason: str = ""
) -> bool:
    """Recompute the derived licence status (inside the caller's transaction, row locked);
    an institution no longer fully licensed leaves the whitelist. Returns True if changed."""
    day = day or timezone.localdate()
    new = derive_licence_status(list(inst.licences.all()), day)
    if new == inst.licence_status:
        return False
    old = inst.licence_status
    inst.licence_status = new
    fields = ["licence_status", "updated_at"]
    if inst.whitelisted and new != LicenceStatus.FULLY_LICENSED:
        _close_list_entry(
            actor=actor,
            inst=inst,
            kind=ListKind.WHITE,
            reason=reason or "证照不全或已过期，自动移出白名单",
            day=day,
        )
        inst.whitelisted = False
        fields.append("whitelisted")
    institution_save(inst, fields)
    audit_record(
        actor=actor,
        action="institution.licence_status",
        obj=inst,
        changes={
            "licence_status": [old, new],
            **({"whitelisted": [True, False]} if "whitelisted" in fields else {}),
        },
    )
    return True


def _close_list_entry(*, actor, inst: Institution, kind: str, reason: str, day: date) -> None:
    ListEntry.objects.filter(institution=inst, list_kind=kind, removed_on__isnull=True).update(
        removed_on=day, removed_reason=reason
    )


def licence_build(
    inst: Institution,
    *,
    kind: str,
    number: str,
    issuer: str = "",
    valid_from: date | None = None,
    valid_until: date | None = None,
    existing: Licence | None = None,
    check_constraints: bool = True,
    business_scope: str | None = None,
) -> Licence:
    """A checked, unsaved licence of ``inst`` (``existing`` updated in place if given).
    Bulk callers may leave the table constraints to the database (one query each here).
    ``business_scope`` None keeps what the licence already says."""
    if kind not in LicenceKind.values:
        raise ValidationError({"kind": format_lazy(_("未知证照类型：{kind}"), kind=kind)})
    number = (number or "").strip()
    if not number:
        raise ValidationError({"number": _("请填写证号")})
    if valid_from and valid_until and valid_until < valid_from:
        raise ValidationError({"valid_until": _("有效期至不能早于有效期起")})
    lic = existing or Licence(institution=inst, kind=kind)
    if business_scope is not None:
        business_scope = business_scope.strip()
        if business_scope and kind not in SCOPE_KINDS:
            raise ValidationError(
                {"business_scope": _("只有营业执照和民办非企业单位登记证书载有经营(业务)范围")}
            )
        if len(business_scope) > MAX_SCOPE_CHARS:
            raise ValidationError(
                {
                    "business_scope": format_lazy(
                        _("经营范围不能超过{MAX_SCOPE_CHARS}字"), MAX_SCOPE_CHARS=MAX_SCOPE_CHARS
                    )
                }
            )
        lic.business_scope = business_scope
    lic.number, lic.issuer, lic.valid_from, lic.valid_until, lic.revoked = (
        number,
        (issuer or "").strip(),
        valid_from,
        valid_until,
        False,
    )
    lic.full_clean(
        exclude=["institution"] if inst.pk is None else None,
        validate_unique=check_constraints,
        validate_constraints=check_constraints,
    )
    return lic


@transaction.atomic
def licence_set(
    *,
    actor,
    institution_id: int,
    kind: str,
    number: str,
    issuer: str = "",
    valid_from: date | None = None,
    valid_until: date | None = None,
    business_scope: str | None = None,
) -> Licence:
    """Record or replace a licence of a kind, then recompute the licence status. The
    business scope goes through the upper apps' text checks (``hooks.TEXT_CHECKERS``,
    source ``licence``): one that reads as subject training is held for review; the
    findings are on ``lic.findings``."""
    inst = lock_institution(actor=actor, institution_id=institution_id)
    lic = Licence.objects.filter(institution=inst, kind=kind).first()
    fields = ["number", "issuer", "valid_from", "valid_until", "revoked", "business_scope"]
    before = snapshot(lic, fields) if lic else {}
    lic = licence_build(
        inst,
        kind=kind,
        number=number,
        issuer=issuer,
        valid_from=valid_from,
        valid_until=valid_until,
        existing=lic,
        business_scope=business_scope,
    )
    lic.save()
    lic.findings = (
        check_texts(
            actor=actor,
            source="licence",
            obj=lic,
            institution=inst,
            texts={"business_scope": lic.business_scope},
        )
        if lic.business_scope
        else []
    )
    audit_record(
        actor=actor,
        action="licence.set",
        obj=lic,
        division_code=inst.division_code,
        changes={"kind": kind, **diff(before, snapshot(lic, fields))},
    )
    institution_refresh_licence_status(actor=actor, inst=inst)
    return lic


@transaction.atomic
def licence_remove(*, actor, institution_id: int, kind: str, reason: str) -> None:
    """Mark a licence revoked/cancelled (吊销/注销); the row stays for the record."""
    inst = lock_institution(actor=actor, institution_id=institution_id)
    lic = Licence.objects.filter(institution=inst, kind=kind).first()
    if lic is None:
        raise DomainError("not_found", _("该证照不存在"), {"kind": kind}, status=404)
    if not reason.strip():
        raise ValidationError({"reason": _("请说明理由")})
    lic.revoked = True
    lic.save(update_fields=["revoked"])
    audit_record(
        actor=actor,
        action="licence.revoke",
        obj=lic,
        division_code=inst.division_code,
        changes={"kind": kind, "revoked": [False, True], "reason": reason},
    )
    institution_refresh_licence_status(actor=actor, inst=inst, reason=f"证照被吊销/注销：{reason}")


@transaction.atomic
def institution_transition(*, actor, institution_id: int, to_status: str, reason: str) -> Institution:
    """Move an institution along the status state machine (one audited change)."""
    if to_status not in InstitutionStatus.values:
        raise ValidationError({"to_status": format_lazy(_("未知状态：{to_status}"), to_status=to_status)})
    if not (reason or "").strip():
        raise ValidationError({"reason": _("请说明状态变更的理由")})
    inst = lock_institution(actor=actor, institution_id=institution_id)
    require_status_authority(actor, inst)
    INSTITUTION_STATES.check(inst.status, to_status)
    fields, changes = [], {}
    if inst.whitelisted and to_status != InstitutionStatus.ACTIVE:
        _close_list_entry(
            actor=actor,
            inst=inst,
            kind=ListKind.WHITE,
            reason=f"办学状态变更为{chinese_label(InstitutionStatus, to_status)}",
            day=timezone.localdate(),
        )
        inst.whitelisted = False
        fields.append("whitelisted")
        changes["whitelisted"] = [True, False]
    INSTITUTION_STATES.move(inst, to_status, actor=actor, reason=reason, fields=fields, changes=changes)
    public_cache.bump()  # the machine saved the institution
    return inst


def institution_suspend(*, actor, institution_id: int, reason: str) -> Institution:
    """停业整顿."""
    return institution_transition(
        actor=actor, institution_id=institution_id, to_status=InstitutionStatus.SUSPENDED, reason=reason
    )


def institution_stop_enrollment(*, actor, institution_id: int, reason: str) -> Institution:
    """责令停止招生."""
    return institution_transition(
        actor=actor, institution_id=institution_id, to_status=InstitutionStatus.STOP_ENROLLMENT, reason=reason
    )


def institution_close(*, actor, institution_id: int, reason: str) -> Institution:
    """关停(终止办学)."""
    return institution_transition(
        actor=actor, institution_id=institution_id, to_status=InstitutionStatus.CLOSED, reason=reason
    )


def institution_ban(*, actor, institution_id: int, reason: str) -> Institution:
    """取缔 an unlicensed operator."""
    return institution_transition(
        actor=actor, institution_id=institution_id, to_status=InstitutionStatus.BANNED, reason=reason
    )


def institution_mark_runaway(*, actor, institution_id: int, reason: str) -> Institution:
    """卷款跑路."""
    return institution_transition(
        actor=actor, institution_id=institution_id, to_status=InstitutionStatus.RUNAWAY, reason=reason
    )


def institution_reactivate(*, actor, institution_id: int, reason: str) -> Institution:
    """恢复正常办学 after suspension or stop of enrolment."""
    return institution_transition(
        actor=actor, institution_id=institution_id, to_status=InstitutionStatus.ACTIVE, reason=reason
    )
