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


def require_reinspector(*, actor, item) -> None:
    """复查 belongs to the issuing department — the item's responsible department, or a
    regulator of the area who belongs to no single department (the task force, a
    county-wide leader) — and to the members of the joint team whose inspection issued
    the notice. Other departments of the county read the item but do not reinspect it."""
    require_inspector(actor=actor, division_code=item.division_code)
    a = actor_for(actor)
    if a.is_platform_admin:
        return
    for prefixes, dept in a.regulator:
        if any(item.division_code.startswith(p) for p in prefixes) and dept in ("", item.department_kind):
            return
    from qinglang.inspections.models import TeamMember

    team_id = item.notice.task.team_id
    if team_id and TeamMember.objects.filter(team_id=team_id, user_id=user_id(actor)).exists():
        return
    raise PermissionDeniedError("只有责任部门或该次检查的联合检查组成员可以复查")
