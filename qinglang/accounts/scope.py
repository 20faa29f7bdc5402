"""The one scoping helper (``restrict``). Every selector narrows its queryset with it, so
an object outside a user's scope is simply not found (404), in pages and API alike.

A model declares how it is reached by a class attribute ``scope`` (a ``ScopePaths``): the
ORM path of its division code, its institution id, its bank id and its owning user id.
Paths a model lacks mean roles that scope by them see nothing of it."""

from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet

from .models import REGULATOR_ROLES, Membership, Role


@dataclass(frozen=True)
class ScopePaths:
    division: str | None = None
    institution: str | None = None
    bank: str | None = None
    owner: str | None = None
    department: str | None = None  # narrows regulators who belong to one department
    public: Q | None = None  # what anyone may see (used by public selectors only)


@dataclass
class Actor:
    """A user's effective scope, computed once per request from active memberships."""

    user_id: int | None
    is_platform_admin: bool = False
    regulator: list[tuple[tuple[str, ...], str]] = field(default_factory=list)  # (prefixes, dept)
    institution_ids: set[int] = field(default_factory=set)
    bank_ids: set[int] = field(default_factory=set)
    is_parent: bool = False
    roles: set[str] = field(default_factory=set)
    system: bool = False  # a permissions.SystemActor: sees everything, holds every role

    def signature(self) -> tuple:
        """Everything scoping reads from this actor, hashable: a cache key for queries
        built through ``restrict`` (see core.pagination.keyset_values_page)."""
        return (
            self.user_id,
            self.is_platform_admin,
            tuple(self.regulator),
            tuple(sorted(self.institution_ids)),
            tuple(sorted(self.bank_ids)),
            self.is_parent,
            tuple(sorted(self.roles)),
            self.system,
        )

    @property
    def division_prefixes(self) -> list[str]:
        return sorted({p for ps, _ in self.regulator for p in ps})


def actor_from_memberships(user_id: int, rows) -> Actor:
    """Fold active memberships, given as (role, division_prefixes, department_kind,
    institution_id, bank_id) rows, into an Actor."""
    a = Actor(user_id=user_id)
    for role, division_prefixes, department_kind, institution_id, bank_id in rows:
        a.roles.add(role)
        if role == Role.PLATFORM_ADMIN:
            a.is_platform_admin = True
        elif role in REGULATOR_ROLES:
            prefixes = tuple(p for p in (division_prefixes or []) if isinstance(p, str))  # "" = national
            if prefixes:
                a.regulator.append((prefixes, department_kind or ""))
        elif role in (Role.INSTITUTION_ADMIN, Role.INSTITUTION_STAFF) and institution_id:
            a.institution_ids.add(institution_id)
        elif role == Role.BANK_OPERATOR and bank_id:
            a.bank_ids.add(bank_id)
        elif role == Role.PARENT:
            a.is_parent = True
    return a


MEMBERSHIP_COLUMNS = ("role", "division_prefixes", "department_kind", "institution_id", "bank_id")


def actor_for(user) -> Actor:
    if isinstance(user, str):
        from .permissions import SystemActor

        if not isinstance(user, SystemActor):
            raise TypeError(
                f"actor {user!r} is a plain string: name a job with accounts.permissions.system(...)"
            )
        return Actor(user_id=None, system=True)
    if user is None or not getattr(user, "is_authenticated", False):
        return Actor(user_id=None)
    cached = getattr(user, "_qinglang_actor", None)
    if cached is not None:
        return cached
    rows = Membership.objects.filter(user_id=user.pk, active=True).values_list(*MEMBERSHIP_COLUMNS)
    a = actor_from_memberships(user.pk, rows)
    user._qinglang_actor = a
    return a


def _prefix_q(path: str, prefixes: tuple[str, ...]) -> Q:
    return reduce(or_, (Q(**{f"{path}__startswith": p}) for p in prefixes))


def scope_q(model, user, *, regulator_department: bool = True) -> Q | None:
    """The filter for what ``user`` may see of ``model``; None means everything."""
    actor = actor_for(user)
    if actor.is_platform_admin or actor.system:
        return None
    paths: ScopePaths = getattr(model, "scope", ScopePaths())
    parts: list[Q] = []
    if paths.division:
        for prefixes, dept in actor.regulator:
            q = _prefix_q(paths.division, prefixes)
            if regulator_department and dept and paths.department:
                q &= Q(**{paths.department: dept})
            parts.append(q)
    if paths.institution and actor.institution_ids:
        parts.append(Q(**{f"{paths.institution}__in": sorted(actor.institution_ids)}))
    if paths.bank and actor.bank_ids:
        parts.append(Q(**{f"{paths.bank}__in": sorted(actor.bank_ids)}))
    if paths.owner and actor.is_parent and actor.user_id:
        parts.append(Q(**{paths.owner: actor.user_id}))
    if not parts:
        return Q(pk__in=[])
    return reduce(or_, parts)


def restrict(qs: QuerySet, user, **kw) -> QuerySet:
    """Narrow ``qs`` to what ``user`` may see. Use before any lookup."""
    q = scope_q(qs.model, user, **kw)
    return qs if q is None else qs.filter(q)


def in_scope(obj, user, **kw) -> bool:
    """Re-check inside a write's transaction that ``obj`` is (still) within scope."""
    return restrict(type(obj)._default_manager.filter(pk=obj.pk), user, **kw).exists()


def division_in_scope(user, division_code: str) -> bool:
    """May a regulator act on a place? (Used when creating objects in a division.)"""
    actor = actor_for(user)
    if actor.is_platform_admin or actor.system:
        return True
    return any(division_code.startswith(p) for ps, _ in actor.regulator for p in ps)
