"""Enforcement API: penalty cases (read)."""

from datetime import date

from ninja import Router, Schema

from . import selectors

router = Router(tags=["enforcement"])


class CaseOut(Schema):
    id: int
    number: str
    institution_id: int
    institution_name: str
    division_code: str
    case_type: str
    origin: str
    status: str
    filed_on: date


def _case(c) -> dict:
    return {
        **{f: getattr(c, f) for f in CaseOut.model_fields if f != "institution_name"},
        "institution_name": c.institution.name,
    }


@router.get("/cases", response=list[CaseOut])
def cases(request, status: str = "", limit: int = 100):
    return [
        _case(c) for c in selectors.case_list(actor=request.user, status=status)[: max(1, min(limit, 500))]
    ]


@router.get("/cases/{case_id}", response=CaseOut)
def case(request, case_id: int):
    return _case(selectors.case_get(actor=request.user, case_id=case_id))
