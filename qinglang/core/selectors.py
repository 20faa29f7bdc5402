"""Reads of core reference data (divisions, departments, policy). Reference data is the
same for every logged-in user; audit events are read through upper apps' selectors."""

from datetime import date

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from .errors import NotFound
from .models import Department, Division
from .policy import Resolved, policy_resolve_many
from .policy_defaults import DEFAULTS


def division_list(*, parent: str | None = None, level: int | None = None, q: str = "") -> QuerySet:
    qs = Division.objects.all()
    if parent:
        qs = qs.filter(parent_id=parent)
    if level:
        qs = qs.filter(level=level)
    if q:
        qs = qs.filter(name__contains=q)
    return qs


def division_get(*, code: str) -> Division:
    d = Division.objects.filter(code=code).first()
    if d is None:
        raise NotFound(_("区划"))
    return d


def department_list(*, division: str = "", kind: str = "") -> QuerySet:
    qs = Department.objects.select_related("division")
    if division:
        qs = qs.filter(division__code__startswith=division)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def policy_effective(*, division_code: str, on: date | None = None) -> list[tuple[object, Resolved]]:
    """Every rule's figure in force for a division and where it comes from."""
    if division_code:
        division_get(code=division_code)
    resolved = policy_resolve_many([d.key for d in DEFAULTS], division_code, on=on)
    return [(d, resolved[d.key]) for d in DEFAULTS]
