"""The funds API for what parents keep and where they pay: an order's paying-in details
and receipts, contract acceptance, the bank operator's entry of a payment without a
signed notification, and the public receipt check. Mounted under ``/api/funds`` and
``/api/public`` beside the main funds router."""

from datetime import date, datetime

from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema, Status

from qinglang.core.errors import NotFound
from qinglang.core.ratelimit import client_ip

from . import selectors, selectors_parent, services
from .api import PaymentOut
from .services.receipts import display_code

router = Router(tags=["funds"])
public_router = Router(tags=["public"])


class PayingInOut(Schema):
    bank_name: str
    account_name: str
    account_number: str
    amount_fen: int
    reference: str
    qr_text: str


class PaymentEntryIn(Schema):
    reference: str
    txn_id: str
    amount_fen: int
    paid_on: date
    note: str
    payer_account: str = ""
    payer_account_name: str = ""
    payer_bank: str = ""


class ReceiptOut(Schema):
    id: int
    institution_name: str
    kind: str
    kind_label: str
    amount_fen: int
    occurred_at: datetime
    posting_id: int
    audit_seq: int
    audit_hash: str
    code: str


class ContractAcceptanceOut(Schema):
    order_id: int
    accepted_at: datetime
    contract_sha256: str
    created: bool


class ReceiptCheckOut(Schema):
    kind_label: str
    amount_fen: int
    occurred_at: datetime
    institution_name: str
    state: str
    posting_id: int
    audit_hash: str
    chain_ok: bool


@router.get("/orders/{int:order_id}/paying-in", response=PayingInOut, summary="Where to pay an order")
def order_paying_in(request: HttpRequest, order_id: int):
    order = selectors.order_get(actor=request.user, order_id=order_id)
    pay = services.paying_in(order)
    if pay is None:
        raise NotFound(_("监管账户"))
    return {**pay.__dict__, "qr_text": pay.qr_text}


@router.get("/orders/{int:order_id}/receipts", response=list[ReceiptOut], summary="An order's receipts")
def order_receipts(request: HttpRequest, order_id: int):
    order = selectors.order_get(actor=request.user, order_id=order_id)
    services.receipts_issue(order=order)
    return [
        {
            **r.__dict__,
            "institution_name": r.institution.name,
            "kind_label": r.get_kind_display(),
            "code": display_code(r.code),
        }
        for r in selectors_parent.receipt_list(actor=request.user, order_id=order.pk)
    ]


@router.post(
    "/orders/{int:order_id}/contract/accept",
    response={200: ContractAcceptanceOut, 201: ContractAcceptanceOut},
    summary="The parent accepts the order's contract",
)
def contract_accept(request: HttpRequest, order_id: int):
    acc, created = services.contract_accept(actor=request.user, order_id=order_id)
    out = {
        "order_id": acc.order_id,
        "accepted_at": acc.accepted_at,
        "contract_sha256": acc.contract_sha256,
        "created": created,
    }
    return Status(201 if created else 200, out)


@router.post(
    "/banks/{int:bank_id}/payments",
    response={200: PaymentOut, 201: PaymentOut},
    summary="A bank operator enters a payment that arrived without a signed notification",
)
def payment_enter(request: HttpRequest, bank_id: int, payload: PaymentEntryIn):
    payment, created = services.payment_enter(actor=request.user, bank_id=bank_id, **payload.dict())
    out = {
        "id": payment.pk,
        "txn_id": payment.txn_id,
        "order_id": payment.order_id,
        "amount_fen": payment.amount_fen,
        "created": created,
    }
    return Status(201 if created else 200, out)


@public_router.get(
    "/receipts/{verification}", response=ReceiptCheckOut, auth=None, summary="Check a receipt's code"
)
def receipt_check(request: HttpRequest, verification: str):
    v = services.receipt_verify(verification, client=client_ip(request))
    if v is None:
        raise Http404()
    return v.__dict__
