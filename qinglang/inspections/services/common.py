"""Who may write in inspections, checked inside each service's transaction."""

from qinglang.accounts.models import Role
from qinglang.accounts.scope import actor_for, division_in_scope, restrict
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


def lock_scoped(model, pk: int, *, actor, what: str, related: tuple[str, ...] = (), **kw):
    """Lock a row that is within the actor's scope, in one statement (``FOR UPDATE OF``
    the row only; ``related`` rows are read with it, not locked); else 404."""
    qs = model.objects.filter(pk=pk)
    if not is_system(actor):
        qs = restrict(qs, actor, **kw)
    if related:
        qs = qs.select_related(*related)
    obj = qs.select_for_update(of=("self",)).first()
    if obj is None:
        raise NotFound(what)
    return obj


def user_id(actor) -> int | None:
    return getattr(actor, "pk", None)
