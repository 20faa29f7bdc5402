"""Reads of the enforcement app, narrowed by ``restrict``: regulators see their area's
cases (narrowed to their department), an institution its own cases."""

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import restrict
from qinglang.core.errors import NotFound

from .models import PenaltyCase, TypicalCase


def case_list(*, actor, status: str = "") -> QuerySet:
    qs = restrict(PenaltyCase.objects.all(), actor).select_related("institution")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-filed_on", "-id")


def case_get(*, actor, case_id: int) -> PenaltyCase:
    c = case_list(actor=actor).filter(pk=case_id).first()
    if c is None:
        raise NotFound(_("处罚案件"))
    return c


def public_typical_cases() -> QuerySet:
    return TypicalCase.objects.select_related("case__institution", "case__decision").order_by(
        "-published_on", "-id"
    )
