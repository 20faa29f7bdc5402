"""``/api/admin/banks/…``: the operators of a custody bank (bank-scoped memberships).
Mounted under the administration API by ``config/api.py`` (accounts, below funds, does not
know banks). Granting goes through ``services.bank_operator_grant``; withdrawing is the
administration API's ``DELETE /api/admin/memberships/{id}``, under the same rules."""

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from qinglang.accounts.admin_api import AdminMembershipOut, require_admin

from . import selectors, services

router = Router(tags=["admin"])


class AdminBankOut(Schema):
    id: int
    code: str
    name: str
    division_code: str


class AdminBankOperatorOut(AdminMembershipOut):
    user_id: int
    username: str = Field(..., alias="user.username")
    display_name: str = Field(..., alias="user.display_name")


class AdminBankOperatorsOut(Schema):
    bank: AdminBankOut
    operators: list[AdminBankOperatorOut]


class AdminBankOperatorIn(Schema):
    user_id: int  # an account the caller administers


@router.get("", response=list[AdminBankOut], summary="Custody banks whose operators the caller administers")
def bank_list(request: HttpRequest):
    require_admin(request)
    return list(services.banks_administered(request.user)[:1000])


@router.get("/{int:bank_id}/operators", response=AdminBankOperatorsOut, summary="A bank's operators")
def bank_operator_list(request: HttpRequest, bank_id: int):
    require_admin(request)
    bank, memberships = selectors.bank_operators(actor=request.user, bank_id=bank_id)
    return {"bank": bank, "operators": list(memberships)}


@router.post(
    "/{int:bank_id}/operators",
    response={201: AdminBankOperatorOut},
    summary="Make an account an operator of the bank (bank scope)",
)
def bank_operator_grant(request: HttpRequest, bank_id: int, payload: AdminBankOperatorIn):
    require_admin(request)
    m = services.bank_operator_grant(actor=request.user, bank_id=bank_id, user_id=payload.user_id)
    return Status(201, m)
