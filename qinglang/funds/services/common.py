"""Who may write what in funds, checked inside the write's transaction under lock."""

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import (
    REGULATOR_WRITERS,
    has_role,
    is_bank_operator,
    is_institution_user,
    lock_in_scope,
)
from qinglang.accounts.scope import actor_for
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.i18n import choice_display
from qinglang.registry.models import Institution, InstitutionStatus

from ..models import CustodyAccount, Order


def is_regulator_writer(actor, division_code: str) -> bool:
    return has_role(actor, REGULATOR_WRITERS, division_code=division_code)


def lock_institution_row(institution_id: int) -> Institution:
    inst = Institution.objects.select_for_update(no_key=True).filter(pk=institution_id).first()
    if inst is None:
        raise NotFound(_("机构"))
    return inst


def lock_order(
    *,
    actor,
    order_id: int,
    parent: bool = False,
    institution: bool = False,
    regulator: bool = False,
    bank: bool = False,
) -> Order:
    """Lock the order row and check, in the transaction, that the actor is in scope and
    holds one of the allowed parts (the order's parent, its institution's users, a
    regulator writer of its division, its custody bank's operator). Out of scope is 404."""
    order = lock_in_scope(Order, order_id, actor=actor, what="订单", no_key=True)
    a = actor_for(actor)
    if a.system or a.is_platform_admin:
        return order
    if parent and a.is_parent and order.parent_id == a.user_id:
        return order
    if institution and is_institution_user(actor, order.institution_id):
        return order
    if regulator and is_regulator_writer(actor, order.division_code):
        return order
    if bank and is_bank_operator(actor, order.bank_id):
        return order
    raise PermissionDeniedError()


def move(machine, obj, to: str, *, actor, reason: str = "") -> None:
    """Move ``obj`` (locked by the caller) to ``to`` through its ``core.states`` machine:
    check the table, set the status and insert its transition row. The caller saves the
    object with its other changes and audits the service's own event."""
    old = obj.status
    machine.check(old, to)
    obj.status = to
    machine.record_many([(obj.pk, old, to)], actor=actor, reason=reason)


def first_row(machine, obj, *, actor, reason: str = "") -> None:
    """The transition row of an object created in its first status (from = to)."""
    machine.record_many([(obj.pk, obj.status, obj.status)], actor=actor, reason=reason)


def institution_may_take_orders(inst: Institution) -> CustodyAccount:
    """Registry status decides: only an active, whitelisted institution with a custody
    account takes orders."""
    if inst.status != InstitutionStatus.ACTIVE:
        raise DomainError(
            "institution_not_active",
            format_lazy(_("机构当前状态为“{inst}”，不得收费"), inst=choice_display(inst, "status")),
            {"status": inst.status},
            status=422,
        )
    if not inst.whitelisted:
        raise DomainError("institution_not_whitelisted", _("机构不在白名单内，不得收费"), None, status=422)
    acc = CustodyAccount.objects.filter(institution_id=inst.pk).first()
    if acc is None:
        raise DomainError("no_custody_account", _("机构未开立预收费监管账户，不得收费"), None, status=422)
    return acc
