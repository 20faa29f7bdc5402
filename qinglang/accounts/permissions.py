"""Who may write: the one home for it (reads are narrowed by ``scope.restrict``).

Every service that changes something names its actor: a ``User`` (from a page, the API or
an admin action) or a ``SystemActor`` (a periodic job, a command, a bank notification, the
demo loader). Services decide with the pieces here, inside their transaction:

- the writer role sets (``REGULATOR_WRITERS``, ``INSPECTORS``, ...), named once;
- ``has_role`` / ``require_role``: the actor holds one of the roles, and (with
  ``division_code``) its regulator scope covers that place; the platform admin and system
  actors always pass;
- ``lock_in_scope``: lock a row and re-check the actor's scope in the same statement
  (``SELECT ... WHERE pk = %s AND <scope> FOR UPDATE OF <row>``), else ``NotFound``.

A plain string is not an actor: ``scope.actor_for`` refuses it, so a job that forgot to
name itself with ``system(...)`` fails loudly instead of acting with no one's rights."""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Union

from django.db import transaction
from django.db.models import Model, QuerySet

from qinglang.core.errors import NotFound, PermissionDeniedError

from .models import INSTITUTION_ROLES, REGULATOR_ROLES, Role
from .scope import actor_for, division_in_scope, restrict

if TYPE_CHECKING:
    from .models import User


class SystemActor(str):
    """The platform acting on its own account. It is a string (``"system:<name>"``) so
    the audit trail records it as the actor's label; it is its own type so that only code
    can make one (no request ever carries one) and every check can tell it from a user.
    A system actor passes every role check and sees every row: jobs act for the law."""

    __slots__ = ()

    def __new__(cls, name: str):
        name = str(name)
        return super().__new__(cls, name if name.startswith("system:") else f"system:{name}")

    @property
    def name(self) -> str:
        return self[len("system:") :]

    pk = None  # no user row: created_by_id=actor.pk stays NULL
    is_authenticated = False


def system(name: str) -> SystemActor:
    """The actor of a job or command, e.g. ``system("refund-deadline")``."""
    return SystemActor(name)


ActorLike = Union["User", SystemActor]


def is_system(actor) -> bool:
    """The one test for "this is the platform, not a person"."""
    return isinstance(actor, SystemActor)


def user_id(actor) -> int | None:
    """The acting user's id, or None for a system actor (``created_by_id`` and the like)."""
    return None if is_system(actor) else getattr(actor, "pk", None)


# --- Role sets: who may write what. Named once; services and pages use these. ---------
# Regulator leaders and officers decide (register, approve, sanction, assign, close).
REGULATOR_WRITERS = frozenset({Role.REGULATOR_LEADER, Role.REGULATOR_OFFICER})
# ... and inspectors also record what they find on site (inspections, rechecks, leads).
INSPECTORS = frozenset({*REGULATOR_WRITERS, Role.INSPECTOR})
# Everyone in a regulator role, grid workers included (they report from the grid).
REGULATORS = REGULATOR_ROLES
# Who enters the regulator console (reading); writing needs REGULATOR_WRITERS.
CONSOLE = frozenset({Role.PLATFORM_ADMIN, *REGULATOR_ROLES})
INSTITUTION_USERS = INSTITUTION_ROLES
INSTITUTION_ADMINS = frozenset({Role.INSTITUTION_ADMIN})
BANK_OPERATORS = frozenset({Role.BANK_OPERATOR})
# Who may hold API tokens of their own (integrations: a county's systems, an institution's
# system, a bank): staff, institution admins, bank operators — not institution staff or parents.
TOKEN_HOLDERS = frozenset({*CONSOLE, Role.INSTITUTION_ADMIN, Role.BANK_OPERATOR})


def has_role(actor, roles: Iterable[str], *, division_code: str | None = None) -> bool:
    """Does ``actor`` hold one of ``roles`` (for ``division_code``, when given: its
    regulator scope covers the place)? The platform admin and system actors always do."""
    if is_system(actor):
        return True
    a = actor_for(actor)
    if a.is_platform_admin:
        return True
    if not (a.roles & frozenset(roles)):
        return False
    return division_code is None or division_in_scope(actor, division_code)


def competent_or_task_force(actor, division_code: str, department_kind: str | None) -> bool:
    """A regulator writer (leader or officer) whose scope covers ``division_code``, either
    of the competent department (``department_kind``) or without a department (the
    county's task force / 双减 office); the platform admin and system actors too."""
    if is_system(actor):
        return True
    a = actor_for(actor)
    if a.is_platform_admin:
        return True
    if not (a.roles & REGULATOR_WRITERS):
        return False
    return any(
        (not dept or dept == department_kind) and any(division_code.startswith(p) for p in ps)
        for ps, dept in a.regulator
    )


def require_role(actor, roles: Iterable[str], *, division_code: str | None = None, message=None) -> None:
    """``has_role`` or ``PermissionDeniedError(message)`` (403)."""
    if not has_role(actor, roles, division_code=division_code):
        raise PermissionDeniedError(message)


def is_institution_user(actor, institution_id: int | None, roles: Iterable[str] = INSTITUTION_USERS) -> bool:
    """A user of that institution holding one of ``roles`` (never a system actor)."""
    if is_system(actor) or institution_id is None:
        return False
    a = actor_for(actor)
    return institution_id in a.institution_ids and bool(a.roles & frozenset(roles))


def is_bank_operator(actor, bank_id: int | None) -> bool:
    """An operator of that custody bank (never a system actor)."""
    if is_system(actor) or bank_id is None:
        return False
    a = actor_for(actor)
    return bank_id in a.bank_ids and bool(a.roles & BANK_OPERATORS)


def lock_in_scope(
    model_or_qs: type[Model] | QuerySet,
    pk,
    *,
    actor,
    what: str,
    related: tuple[str, ...] = (),
    no_key: bool = False,
    **scope_kw,
):
    """The row ``pk``, locked, if it lies within ``actor``'s scope; else ``NotFound(what)``
    (outside scope and absent are not told apart). One statement: the scope filter and
    the lock (``FOR [NO KEY] UPDATE OF`` the row only; ``related`` rows are read with it,
    not locked), so nothing can move the row out of scope between check and lock. Must run
    inside the service's transaction. ``scope_kw`` go to ``restrict`` (e.g.
    ``regulator_department=False``)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_in_scope must run inside the service's transaction")
    qs = model_or_qs if isinstance(model_or_qs, QuerySet) else model_or_qs._default_manager.all()
    qs = restrict(qs.filter(pk=pk), actor, **scope_kw)
    if related:
        qs = qs.select_related(*related)
    # ``[:1]``, not ``first()``: the key picks at most one row, and first()'s ORDER BY
    # would add its compile time to every locked write for nothing
    obj = next(iter(qs.select_for_update(of=("self",), no_key=no_key)[:1]), None)
    if obj is None:
        raise NotFound(what)
    return obj
