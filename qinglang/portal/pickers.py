"""Pick, don't type: choices of divisions limited to the user's scope, with the
user's own township first (and pre-selected by the forms that use them)."""

from django.db.models import Q

from qinglang.accounts.scope import actor_for
from qinglang.core.models import Division, DivisionLevel

LIMIT = 2000  # a picker never lists more (a national admin types a filter instead)


def _scope_q(user, field: str = "code") -> Q | None:
    """Divisions within the user's regulator prefixes, and the township above a community
    prefix; ``None`` for the platform admin (everywhere)."""
    a = actor_for(user)
    if a.is_platform_admin:
        return None
    q = Q(pk__in=[])
    for p in a.division_prefixes:
        q |= Q(**{f"{field}__startswith": p})
        if len(p) > 9:
            q |= Q(**{field: p[:9]})
    return q


def own_townships(user) -> list[str]:
    """The townships the user works in as a township (prefixes of 9 digits or more)."""
    return sorted({p[:9] for p in actor_for(user).division_prefixes if len(p) >= 9})


def division_choices(
    user, level: int = DivisionLevel.TOWNSHIP, *, blank: str | None = None
) -> list[tuple[str, str]]:
    """(code, name) of the divisions of ``level`` in the user's scope, own townships first."""
    qs = Division.objects.filter(level=level, retired=False)
    q = _scope_q(user)
    if q is not None:
        qs = qs.filter(q)
    rows = list(qs.order_by("code").values_list("code", "name")[:LIMIT])
    own = set(own_townships(user))
    rows.sort(key=lambda r: (r[0] not in own, r[0]))
    out = [(code, name) for code, name in rows]
    return ([("", blank)] if blank is not None else []) + out


def township_initial(user) -> str:
    own = own_townships(user)
    return own[0] if own else ""
