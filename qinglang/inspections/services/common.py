"""Who may write in inspections, checked inside each service's transaction."""

from qinglang.accounts.models import Role
from qinglang.accounts.scope import actor_for, division_in_scope, in_scope
from qinglang.core.errors import NotFound, PermissionDeniedError

WRITERS = {Role.REGULATOR_LEADER, Role.REGULATOR_OFFICER}
INSPECTORS = {Role.REGULATOR_LEADER, Role.REGULATOR_OFFICER, Role.INSPECTOR}


def is_system(actor) -> bool:
    return isinstance(actor, str) and actor.startswith("system")


def require_writer(*, actor, division_code: str, what: str = "此操作") -> None:
    """Regulator leaders and officers of the division (and the platform admin)."""
    if is_system(actor):
        return
    a = actor_for(actor)
    if a.is_platform_admin:
        return
    if not (a.roles & WRITERS) or not division_in_scope(actor, division_code):
        raise PermissionDeniedError(f"无权执行{what}")


def require_inspector(*, actor, division_code: str) -> None:
    a = actor_for(actor)
    if a.is_platform_admin:
        return
    if not (a.roles & INSPECTORS) or not division_in_scope(actor, division_code):
        raise PermissionDeniedError("无权执行检查或复查")


def lock_scoped(model, pk: int, *, actor, what: str, **kw):
    """Lock a row and check it is (still) within the actor's scope; else 404."""
    obj = model.objects.select_for_update().filter(pk=pk).first()
    if obj is None or (not is_system(actor) and not in_scope(obj, actor, **kw)):
        raise NotFound(what)
    return obj


def user_id(actor) -> int | None:
    return getattr(actor, "pk", None)
