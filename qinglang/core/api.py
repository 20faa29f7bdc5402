from datetime import date

from django.http import HttpRequest
from ninja import Router, Schema

from . import selectors

router = Router(tags=["core"])


class DivisionOut(Schema):
    code: str
    name: str
    level: int
    parent_id: str | None
    full_name: str


class DepartmentOut(Schema):
    id: int
    division_id: str
    kind: str
    name: str


class PolicyOut(Schema):
    key: str
    label: str
    value: object | None
    set_by: str
    basis: str
    effective_from: date


@router.get("/divisions", response=list[DivisionOut], summary="行政区划 (children of a parent, or by level)")
def divisions(request: HttpRequest, parent: str | None = None, level: int | None = None, q: str = ""):
    if not parent and not level and not q:
        level = 1
    return list(selectors.division_list(parent=parent, level=level, q=q)[:5000])


@router.get("/divisions/{code}", response=DivisionOut)
def division(request: HttpRequest, code: str):
    return selectors.division_get(code=code)


@router.get("/departments", response=list[DepartmentOut])
def departments(request: HttpRequest, division: str = "", kind: str = ""):
    return list(selectors.department_list(division=division, kind=kind)[:5000])


def policy_out(d, r) -> dict:
    return {
        "key": r.key,
        "label": d.label,
        "value": r.value,
        "set_by": r.division_code or "national",
        "basis": r.basis,
        "effective_from": r.effective_from,
    }


@router.get(
    "/policy",
    response=list[PolicyOut],
    summary="Effective policy parameters for a division, with their source",
)
def policy(request: HttpRequest, division: str = "", on: date | None = None):
    return [policy_out(d, r) for d, r in selectors.policy_effective(division_code=division, on=on)]
