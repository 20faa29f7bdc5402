from datetime import date

from django.http import HttpRequest
from ninja import Router, Schema

from qinglang.core import selectors as core_selectors
from qinglang.core.api import PolicyOut, policy_out

from . import services
from .scope import actor_for

router = Router(tags=["accounts"])


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    roles: list[str]
    division_prefixes: list[str]
    institution_ids: list[int]


@router.get("/me", response=MeOut, summary="The current user and their scope")
def me(request: HttpRequest):
    a = actor_for(request.user)
    return {
        "id": request.user.pk,
        "username": request.user.username,
        "display_name": request.user.display_name,
        "roles": sorted(a.roles),
        "division_prefixes": a.division_prefixes,
        "institution_ids": sorted(a.institution_ids),
    }


class PolicyIn(Schema):
    division_code: str
    value: object | None
    basis: str
    effective_from: date | None = None


@router.put("/policy/{key}", response=PolicyOut, summary="Set a division's own figure for a rule (audited)")
def policy_set(request: HttpRequest, key: str, payload: PolicyIn):
    services.policy_override(
        actor=request.user,
        key=key,
        division_code=payload.division_code,
        value=payload.value,
        basis=payload.basis,
        effective_from=payload.effective_from,
    )
    d, r = next(
        (d, r)
        for d, r in core_selectors.policy_effective(division_code=payload.division_code)
        if d.key == key
    )
    return policy_out(d, r)
