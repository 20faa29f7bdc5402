"""Custody banks and accounts (托管银行、监管账户); freezing of releases."""

import secrets
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.administration import administered_prefixes, membership_add, user_get
from qinglang.accounts.models import Membership, Role
from qinglang.accounts.scope import in_scope
from qinglang.core import crypto
from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.i18n import choice_label
from qinglang.core.policy import policy_resolve

from ..ledger import institution_accounts
from ..models import Bank, CustodyAccount, CustodyMode, Order, OrderStatus
from . import bank_notices
from .common import is_regulator_writer, lock_institution_row


def bank_create(*, actor, code: str, name: str, division_code: str, secret: str = "") -> tuple[Bank, str]:
    """Register a custody bank for a division; returns the bank and its notification
    secret (shown once)."""
    code, name = (code or "").strip(), (name or "").strip()
    if not code or not name:
        raise ValidationError({"name": _("银行编码和名称不能为空")})
    with transaction.atomic():
        if not is_regulator_writer(actor, division_code):
            raise PermissionDeniedError(_("无权登记托管银行"))
        if Bank.objects.filter(code=code).exists():
            raise DomainError(
                "duplicate_bank", format_lazy(_("银行编码已存在：{code}"), code=code), {"code": code}
            )
        secret = secret or secrets.token_hex(32)
        bank = Bank.objects.create(
            code=code, name=name, division_code=division_code, secret_encrypted=crypto.encrypt(secret)
        )
        audit_record(actor=actor, action="funds.bank_create", obj=bank, changes={"code": code, "name": name})
    return bank, secret


def bank_secret(bank: Bank) -> str:
    return crypto.decrypt(bank.secret_encrypted)


def custody_account_open(
    *,
    actor,
    institution_id: int,
    bank_id: int,
    mode: str,
    account_number: str,
    opened_on: date,
    required_deposit_fen: int = 0,
) -> CustodyAccount:
    """Open an institution's custody account at a bank, in a mode the division allows
    (``custody.modes_allowed``)."""
    if mode not in CustodyMode.values:
        raise ValidationError({"mode": format_lazy(_("未知的监管方式：{mode}"), mode=mode)})
    if type(required_deposit_fen) is not int or required_deposit_fen < 0:
        raise ValidationError({"required_deposit_fen": _("保证金须为非负整数(分)")})
    with transaction.atomic():
        inst = lock_institution_row(institution_id)
        if not is_regulator_writer(actor, inst.division_code):
            if not in_scope(inst, actor, regulator_department=False):
                raise NotFound(_("机构"))
            raise PermissionDeniedError()
        bank = Bank.objects.filter(pk=bank_id).first()
        if bank is None:
            raise DomainError("unknown_bank", _("托管银行不存在"), {"bank_id": bank_id}, status=422)
        allowed = policy_resolve("custody.modes_allowed", inst.division_code)
        if mode not in (allowed.value or []):
            raise allowed.violation(
                format_lazy(
                    _("本地不允许“{CustodyMode}”监管方式"), CustodyMode=choice_label(CustodyMode, mode)
                ),
                mode=mode,
            )
        if CustodyAccount.objects.filter(institution_id=inst.pk).exists():
            raise DomainError("custody_exists", _("该机构已开立监管账户"), None, status=409)
        acc = CustodyAccount(
            institution=inst,
            bank=bank,
            mode=mode,
            account_number=(account_number or "").strip(),
            opened_on=opened_on,
            required_deposit_fen=required_deposit_fen,
            division_code=inst.division_code,
        )
        acc.full_clean()
        acc.save()
        institution_accounts(inst, bank.pk)
        audit_record(
            actor=actor,
            action="funds.custody_account_open",
            obj=acc,
            changes={
                "institution_id": inst.pk,
                "bank_id": bank.pk,
                "mode": mode,
                "account_number": acc.account_number,
            },
        )
    return acc


def _set_frozen(*, actor, institution_id: int, reason: str, frozen: bool) -> CustodyAccount:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写理由")})
    with transaction.atomic():
        inst = lock_institution_row(institution_id)
        if not is_regulator_writer(actor, inst.division_code):
            raise PermissionDeniedError(_("无权暂停或恢复资金拨付"))
        acc = CustodyAccount.objects.select_for_update(no_key=True).filter(institution_id=inst.pk).first()
        if acc is None:
            raise DomainError("no_custody_account", _("机构未开立监管账户"), None, status=422)
        before = acc.releases_frozen
        acc.releases_frozen = frozen
        acc.frozen_reason = reason if frozen else ""
        acc.save(update_fields=["releases_frozen", "frozen_reason"])
        released = 0
        if before and not frozen:
            from .confirmation import release_pending

            orders = list(
                Order.objects.select_for_update(no_key=True)
                .filter(
                    institution_id=inst.pk,
                    status__in=[
                        OrderStatus.PAID,
                        OrderStatus.COMPLETED,
                        OrderStatus.REFUND_REQUESTED,
                        OrderStatus.REFUNDED,
                    ],
                )
                .order_by("id")
            )
            released = release_pending(
                orders=orders, frozen=False, key_prefix=f"unfreeze:{inst.pk}:{_unfreeze_seq(inst.pk)}"
            )
        acc.institution = inst  # the row locked above, for the notice's name
        if before != frozen:
            bank_notices.releases_frozen(acc=acc, frozen=frozen, reason=reason, actor=actor)
        audit_record(
            actor=actor,
            action="funds.releases_freeze" if frozen else "funds.releases_unfreeze",
            obj=acc,
            changes={"releases_frozen": [before, frozen], "reason": reason, "released_fen": released},
        )
    return acc


def _unfreeze_seq(institution_id: int) -> int:
    from qinglang.core.models import AuditEvent

    return (
        AuditEvent.objects.filter(
            action="funds.releases_unfreeze", object_type="funds.custodyaccount"
        ).count()
        + 1
    )


def releases_freeze(*, actor, institution_id: int, reason: str) -> CustodyAccount:
    """Freeze fund releases (a penalty decision that stops operation): lessons recorded
    while frozen release nothing; refunds are still paid."""
    return _set_frozen(actor=actor, institution_id=institution_id, reason=reason, frozen=True)


def releases_unfreeze(*, actor, institution_id: int, reason: str) -> CustodyAccount:
    """Lift the freeze; lessons consumed meanwhile are released now."""
    return _set_frozen(actor=actor, institution_id=institution_id, reason=reason, frozen=False)


# --- bank operators ---------------------------------------------------------------------


def banks_administered(actor) -> QuerySet[Bank]:
    """Custody banks whose operators ``actor`` administers: every bank for the platform
    admin, a regulator leader's the banks registered within their leader prefixes."""
    prefixes = administered_prefixes(actor)
    qs = Bank.objects.order_by("division_code", "code")
    if prefixes == [""]:
        return qs
    cond = Q(pk__in=[])
    for p in prefixes:
        cond |= Q(division_code__startswith=p)
    return qs.filter(cond)


def bank_division(bank_id: int) -> str | None:
    """The division of a bank (set as ``accounts.services.bank_division.lookup``)."""
    return Bank.objects.filter(pk=bank_id).values_list("division_code", flat=True).first()


@transaction.atomic
def bank_operator_grant(*, actor, bank_id: int, user_id: int) -> Membership:
    """Make an account an operator of a custody bank (its API tokens then act for the
    bank). The platform admin for any bank; a regulator leader for the banks of their own
    prefixes and accounts they administer (``accounts.services.check_grant``)."""
    bank = banks_administered(actor).filter(pk=bank_id).first()
    if bank is None:
        raise NotFound(_("托管银行"))
    user = user_get(actor, user_id)  # an account the actor administers, or 404
    if user.memberships.filter(role=Role.BANK_OPERATOR, bank_id=bank.pk, active=True).exists():
        raise DomainError(
            "duplicate_membership",
            format_lazy(_("该账号已是{name}的银行操作员"), name=bank.name),
            {"bank_id": bank.pk, "user_id": user_id},
            status=409,
        )
    return membership_add(actor=actor, user_id=user.pk, role=Role.BANK_OPERATOR, bank_id=bank.pk)
