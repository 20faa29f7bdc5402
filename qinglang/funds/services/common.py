"""Who may write what in funds, checked inside the write's transaction under lock."""

from qinglang.accounts.models import INSTITUTION_ROLES, Role
from qinglang.accounts.scope import actor_for, division_in_scope, in_scope
from qinglang.core.errors import DomainError, IllegalTransition, NotFound, PermissionDeniedError
from qinglang.registry.models import Institution, Status

from ..models import CustodyAccount, Order

WRITER_REGULATOR_ROLES = {Role.REGULATOR_LEADER, Role.REGULATOR_OFFICER}


def is_system(actor) -> bool:
    """Jobs and bank notifications act as a string label, e.g. "system:refund-deadline"."""
    return isinstance(actor, str)


def is_regulator_writer(actor, division_code: str) -> bool:
    if is_system(actor):
        return True
    a = actor_for(actor)
    if a.is_platform_admin:
        return True
    return bool(a.roles & WRITER_REGULATOR_ROLES) and division_in_scope(actor, division_code)


def is_institution_user(actor, institution_id: int) -> bool:
    if is_system(actor):
        return False
    a = actor_for(actor)
    return institution_id in a.institution_ids and bool(a.roles & set(INSTITUTION_ROLES))


def is_bank_operator(actor, bank_id: int | None) -> bool:
    if is_system(actor) or bank_id is None:
        return False
    a = actor_for(actor)
    return bank_id in a.bank_ids and Role.BANK_OPERATOR in a.roles


def lock_institution_row(institution_id: int) -> Institution:
    inst = Institution.objects.select_for_update(no_key=True).filter(pk=institution_id).first()
    if inst is None:
        raise NotFound("机构")
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
    order = Order.objects.select_for_update(no_key=True).filter(pk=order_id).first()
    if order is None:
        raise NotFound("订单")
    if is_system(actor):
        return order
    if not in_scope(order, actor):
        raise NotFound("订单")
    a = actor_for(actor)
    if a.is_platform_admin:
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


def transition(model_label: str, table: dict, current: str, target: str) -> None:
    if target not in table.get(current, set()):
        raise IllegalTransition(model_label, current, target, sorted(table.get(current, set())))


def institution_may_take_orders(inst: Institution) -> CustodyAccount:
    """Registry status decides: only an active, whitelisted institution with a custody
    account takes orders."""
    if inst.status != Status.ACTIVE:
        raise DomainError(
            "institution_not_active",
            f"机构当前状态为“{inst.get_status_display()}”，不得收费",
            {"status": inst.status},
            status=422,
        )
    if not inst.whitelisted:
        raise DomainError("institution_not_whitelisted", "机构不在白名单内，不得收费", None, status=422)
    acc = CustodyAccount.objects.filter(institution_id=inst.pk).first()
    if acc is None:
        raise DomainError("no_custody_account", "机构未开立预收费监管账户，不得收费", None, status=422)
    return acc
