"""The public white and black lists (白名单 / 黑名单)."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import system
from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError
from qinglang.core.i18n import choice_display
from qinglang.core.policy import policy_resolve

from ..models import (
    Institution,
    InstitutionCategory,
    InstitutionStatus,
    LicenceStatus,
    ListEntry,
    ListKind,
    Nature,
)
from .common import institution_save, lock_institution, require_status_authority
from .institutions import _close_list_entry, institution_refresh_licence_status
from .rules import whitelist_gate

__all__ = [
    "blacklist_add",
    "blacklist_remove",
    "whitelist_add",
    "whitelist_remove",
    "whitelist_sweep_expired",
]


MAX_REASON_CHARS = 2000


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写理由")})
    if len(reason) > MAX_REASON_CHARS:
        raise ValidationError(
            {"reason": format_lazy(_("理由不超过{MAX_REASON_CHARS}字"), MAX_REASON_CHARS=MAX_REASON_CHARS)}
        )
    return reason


def _entry(*, actor, inst: Institution, kind: str, reason: str, day: date) -> ListEntry:
    return ListEntry.objects.create(
        institution=inst,
        list_kind=kind,
        reason=reason,
        decided_on=day,
        decided_by_id=getattr(actor, "pk", None),
        decided_by_label=str(actor) if actor else "system",
    )


@transaction.atomic
def whitelist_add(*, actor, institution_id: int, reason: str, day: date | None = None) -> ListEntry:
    """Only a fully licensed, active institution may be whitelisted; a subject-type one
    must also be non-profit where the policy says so."""
    reason = _reason(reason)
    day = day or timezone.localdate()
    inst = lock_institution(actor=actor, institution_id=institution_id)
    require_status_authority(actor, inst)
    institution_refresh_licence_status(actor=actor, inst=inst, day=day)
    if inst.whitelisted:
        raise DomainError("already_whitelisted", _("该机构已在白名单中"))
    if inst.blacklisted:
        raise DomainError("blacklisted", _("黑名单中的机构不能列入白名单"), status=409)
    if inst.licence_status != LicenceStatus.FULLY_LICENSED:
        raise DomainError(
            "not_fully_licensed",
            format_lazy(
                _("证照不全({inst})的机构不能列入白名单"), inst=choice_display(inst, "licence_status")
            ),
            {"licence_status": inst.licence_status},
            status=409,
        )
    if inst.status != InstitutionStatus.ACTIVE:
        raise DomainError(
            "not_active",
            format_lazy(_("办学状态为{inst}的机构不能列入白名单"), inst=choice_display(inst, "status")),
            {"status": inst.status},
            status=409,
        )
    if inst.category == InstitutionCategory.SUBJECT and inst.nature != Nature.NON_PROFIT:
        rule = policy_resolve("subject.must_be_non_profit", inst.division_code)
        if rule.value:
            raise rule.violation(_("学科类机构须为非营利性方可列入白名单"))
    whitelist_gate(inst, day)
    entry = _entry(actor=actor, inst=inst, kind=ListKind.WHITE, reason=reason, day=day)
    inst.whitelisted = True
    institution_save(inst, ["whitelisted", "updated_at"])
    audit_record(
        actor=actor,
        action="whitelist.add",
        obj=inst,
        changes={"whitelisted": [False, True], "reason": reason},
    )
    return entry


@transaction.atomic
def whitelist_remove(*, actor, institution_id: int, reason: str) -> Institution:
    reason = _reason(reason)
    inst = lock_institution(actor=actor, institution_id=institution_id)
    require_status_authority(actor, inst)
    if not inst.whitelisted:
        raise DomainError("not_whitelisted", _("该机构不在白名单中"))
    _close_list_entry(actor=actor, inst=inst, kind=ListKind.WHITE, reason=reason, day=timezone.localdate())
    inst.whitelisted = False
    institution_save(inst, ["whitelisted", "updated_at"])
    audit_record(
        actor=actor,
        action="whitelist.remove",
        obj=inst,
        changes={"whitelisted": [True, False], "reason": reason},
    )
    return inst


@transaction.atomic
def blacklist_add(*, actor, institution_id: int, reason: str, day: date | None = None) -> ListEntry:
    """列入黑名单; takes the institution off the whitelist."""
    reason = _reason(reason)
    day = day or timezone.localdate()
    inst = lock_institution(actor=actor, institution_id=institution_id)
    require_status_authority(actor, inst)
    if inst.blacklisted:
        raise DomainError("already_blacklisted", _("该机构已在黑名单中"))
    changes = {"blacklisted": [False, True], "reason": reason}
    if inst.whitelisted:
        _close_list_entry(
            actor=actor, inst=inst, kind=ListKind.WHITE, reason=f"列入黑名单：{reason}", day=day
        )
        inst.whitelisted = False
        changes["whitelisted"] = [True, False]
    entry = _entry(actor=actor, inst=inst, kind=ListKind.BLACK, reason=reason, day=day)
    inst.blacklisted = True
    institution_save(inst, ["blacklisted", "whitelisted", "updated_at"])
    audit_record(actor=actor, action="blacklist.add", obj=inst, changes=changes)
    return entry


@transaction.atomic
def blacklist_remove(*, actor, institution_id: int, reason: str) -> Institution:
    reason = _reason(reason)
    inst = lock_institution(actor=actor, institution_id=institution_id)
    require_status_authority(actor, inst)
    if not inst.blacklisted:
        raise DomainError("not_blacklisted", _("该机构不在黑名单中"))
    _close_list_entry(actor=actor, inst=inst, kind=ListKind.BLACK, reason=reason, day=timezone.localdate())
    inst.blacklisted = False
    institution_save(inst, ["blacklisted", "updated_at"])
    audit_record(
        actor=actor,
        action="blacklist.remove",
        obj=inst,
        changes={"blacklisted": [True, False], "reason": reason},
    )
    return inst


def whitelist_sweep_expired(*, day: date | None = None) -> int:
    """Periodic job: recompute licence status of whitelisted institutions whose licences
    have lapsed; each leaves the whitelist in its own transaction. Returns how many left."""
    day = day or timezone.localdate()
    ids = list(
        Institution.objects.filter(whitelisted=True, licences__valid_until__lt=day)
        .values_list("id", flat=True)
        .distinct()
    )
    removed = 0
    for iid in ids:
        with transaction.atomic():
            inst = Institution.objects.select_for_update().get(pk=iid)
            institution_refresh_licence_status(
                actor=system("whitelist_sweep"),
                inst=inst,
                day=day,
                reason="证照过期，自动移出白名单",
            )
            removed += int(not inst.whitelisted)
    return removed
