"""The funds API: orders, lessons (single and batch), refunds, bank notifications
(HMAC-signed), instructions, statements, reconciliation, institution fund pages."""

import hashlib
import hmac
import logging
import time
from datetime import date, datetime

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.security import APIKeyHeader

from qinglang.core.api_support import auth_methods
from qinglang.core.errors import DomainError

from . import selectors, services
from .models import Bank
from .parsing import lesson_rows, statement_text

log = logging.getLogger(__name__)
router = Router(tags=["funds"])

SIGNATURE_WINDOW_SECONDS = 300


class BankSignatureAuth(APIKeyHeader):
    """``X-Qinglang-Signature: hex(HMAC-SHA256(secret, timestamp + "." + body))`` with
    ``X-Qinglang-Timestamp`` (Unix seconds, within 5 minutes, so an old notification
    cannot be replayed later). The bank is the one named in the path."""

    param_name = "X-Qinglang-Signature"

    def authenticate(self, request, key):
        if not key:
            return None
        bank_id = request.resolver_match.kwargs.get("bank_id") if request.resolver_match else None
        bank = Bank.objects.filter(pk=bank_id).first() if bank_id else None
        ts = request.headers.get("X-Qinglang-Timestamp", "")
        reason = ""
        if bank is None:
            reason = "unknown bank"
        elif not ts.isdigit() or abs(time.time() - int(ts)) > SIGNATURE_WINDOW_SECONDS:
            reason = "timestamp outside window (replay?)"
        else:
            expected = sign(services.bank_secret(bank), ts, request.body)
            if hmac.compare_digest(expected, key):
                request.bank_signed = bank.pk
                return f"bank:{bank.code}"
            reason = "bad signature"
        log.warning("bank notification refused: %s (bank %s)", reason, bank_id)
        services.payment_refusal_log(
            bank_id=bank.pk if bank else None, code="bad_signature", reason=reason, body=request.body
        )
        return None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


# --- schemas -------------------------------------------------------------------------------


class OrderIn(Schema):
    course_id: int
    learner_name: str
    lessons: int
    starts_on: date
    months: int = 1
    top_up_of: int | None = None
    training_loan: bool = False
    external_ref: str = ""


class OrderOut(Schema):
    id: int
    institution_id: int
    institution_name: str
    course_id: int
    course_name: str
    learner_name: str
    lessons: int
    unit_price_fen: int
    amount_fen: int
    status: str
    paid_fen: int
    released_fen: int
    refunded_fen: int
    held_fen: int
    lessons_consumed: int
    lessons_remaining: int
    starts_on: date
    contract_text: str

    @staticmethod
    def resolve_institution_name(o):
        return o.institution.name

    @staticmethod
    def resolve_course_name(o):
        return o.course.name


class LessonIn(Schema):
    order_id: int
    event_id: str
    given_at: datetime | None = None


class LessonOut(Schema):
    id: int
    order_id: int
    event_id: str
    status: str
    released_fen: int
    confirm_by: date


class LessonResult(Schema):
    result: str
    lesson: LessonOut


class BatchOut(Schema):
    batch_id: int | None
    accepted: int
    duplicate: int
    refused: int
    results: list[dict]


class ReasonIn(Schema):
    reason: str


class AnswerIn(Schema):
    agree: bool
    answer: str = ""


class ResolveIn(Schema):
    upheld: bool
    note: str = ""


class RefundOut(Schema):
    id: int
    order_id: int
    status: str
    amount_fen: int
    reason: str
    answer: str
    respond_by: date | None


class NotificationIn(Schema):
    txn_id: str
    order_id: int
    amount_fen: int
    payer_account: str = ""


class PaymentOut(Schema):
    id: int
    txn_id: str
    order_id: int
    amount_fen: int
    created: bool


class DiffResolveIn(Schema):
    resolution: str
    correction_fen: int = 0


# --- orders ---------------------------------------------------------------------------------


@router.get("/orders", response=list[OrderOut], summary="Orders in the caller's scope (newest 200)")
def order_list(request: HttpRequest, status: str | None = None, institution_id: int | None = None):
    return list(selectors.order_list(actor=request.user, status=status, institution_id=institution_id)[:200])


@router.post("/orders", response={201: OrderOut}, summary="Create an order (parent, or institution system)")
def order_create(request: HttpRequest, payload: OrderIn):
    data = services.OrderInput(
        course_id=payload.course_id,
        learner_name=payload.learner_name,
        lessons=payload.lessons,
        starts_on=payload.starts_on,
        months=payload.months,
        top_up_of_id=payload.top_up_of,
        training_loan=payload.training_loan,
        external_ref=payload.external_ref,
    )
    return Status(201, services.order_create(actor=request.user, data=data))


@router.get("/orders/{int:order_id}", response=OrderOut)
def order_get(request: HttpRequest, order_id: int):
    return selectors.order_get(actor=request.user, order_id=order_id)


@router.post("/orders/{int:order_id}/refund", response={201: RefundOut}, summary="Parent requests a refund")
def refund_request(request: HttpRequest, order_id: int, payload: ReasonIn):
    return Status(201, services.refund_request(actor=request.user, order_id=order_id, reason=payload.reason))


@router.get("/orders/{int:order_id}/lessons", response=list[LessonOut])
def order_lessons(request: HttpRequest, order_id: int):
    selectors.order_get(actor=request.user, order_id=order_id)
    return list(selectors.lesson_list(actor=request.user, order_id=order_id)[:500])


# --- lessons --------------------------------------------------------------------------------


@router.post("/institutions/{int:institution_id}/lessons", response=LessonResult, summary="Record one lesson")
def lesson_record(request: HttpRequest, institution_id: int, payload: LessonIn):
    lesson, result = services.lesson_record(
        actor=request.user,
        institution_id=institution_id,
        order_id=payload.order_id,
        event_id=payload.event_id,
        given_at=payload.given_at,
    )
    return {"result": result, "lesson": lesson}


@router.post(
    "/institutions/{int:institution_id}/lessons/batch",
    response=BatchOut,
    summary="Batch of lesson events (JSON lines or CSV: event_id, order_id, given_at), up to 100,000",
)
def lesson_batch(request: HttpRequest, institution_id: int, file: UploadedFile = File(...)):  # noqa: B008
    out = services.lesson_batch_import(
        actor=request.user,
        institution_id=institution_id,
        rows=lesson_rows(file, filename=file.name or ""),
        filename=file.name or "",
    )
    c = out.counts
    return {
        "batch_id": out.batch.pk if out.batch else None,
        **c,
        "results": [r.__dict__ for r in out.results if r.result != "accepted"][:5000],
    }


@router.post("/lessons/{int:lesson_id}/confirm", response=LessonOut)
def lesson_confirm(request: HttpRequest, lesson_id: int):
    return services.lesson_confirm(actor=request.user, lesson_id=lesson_id)


@router.post("/lessons/{int:lesson_id}/dispute", response=LessonOut)
def lesson_dispute(request: HttpRequest, lesson_id: int, payload: ReasonIn):
    return services.lesson_dispute(actor=request.user, lesson_id=lesson_id, reason=payload.reason)


@router.post("/lessons/{int:lesson_id}/resolve", response=LessonOut)
def lesson_resolve(request: HttpRequest, lesson_id: int, payload: ResolveIn):
    return services.lesson_dispute_resolve(
        actor=request.user, lesson_id=lesson_id, upheld=payload.upheld, note=payload.note
    )


# --- refunds --------------------------------------------------------------------------------


@router.get("/refunds", response=list[RefundOut])
def refund_list(request: HttpRequest, status: str | None = None):
    return list(selectors.refund_list(actor=request.user, status=status)[:200])


@router.post("/refunds/{int:refund_id}/answer", response=RefundOut)
def refund_answer(request: HttpRequest, refund_id: int, payload: AnswerIn):
    return services.refund_answer(
        actor=request.user, refund_id=refund_id, agree=payload.agree, answer=payload.answer
    )


@router.post(
    "/institutions/{int:institution_id}/pro-rata-refund", summary="Regulator refunds every learner pro rata"
)
def refund_pro_rata(request: HttpRequest, institution_id: int, payload: ReasonIn):
    return services.refund_pro_rata(actor=request.user, institution_id=institution_id, reason=payload.reason)


@router.get(
    "/institutions/{int:institution_id}/funds",
    summary="An institution's custody, balances and ledger history",
)
def institution_funds(request: HttpRequest, institution_id: int):
    d = selectors.institution_funds(actor=request.user, institution_id=institution_id)
    c = d["custody"]
    return {
        "institution": {"id": d["institution"].pk, "name": d["institution"].name},
        "custody": None
        if c is None
        else {
            "bank": c.bank.name,
            "mode": c.mode,
            "account_number": c.account_number,
            "releases_frozen": c.releases_frozen,
        },
        "balances": d["balances"],
        "held_fen": d["held_fen"],
        "obligations_fen": d["obligations_fen"],
        "entries": [
            {
                "posting_id": e.posting_id,
                "code": e.posting.code,
                "account": e.account.kind,
                "amount_fen": e.amount_fen,
                "at": e.posting.created_at,
            }
            for e in d["entries"]
        ],
    }


# --- banks ----------------------------------------------------------------------------------


@router.post(
    "/banks/{int:bank_id}/notifications",
    response={200: PaymentOut, 201: PaymentOut},
    auth=[BankSignatureAuth(), *auth_methods()],
    summary="Bank payment notification (HMAC-signed; idempotent on txn_id)",
)
def bank_notification(request: HttpRequest, bank_id: int, payload: NotificationIn):
    signed = getattr(request, "bank_signed", None) == bank_id
    try:
        payment, created = services.payment_record(
            actor=request.auth if signed else request.user,
            bank_id=bank_id,
            txn_id=payload.txn_id,
            order_id=payload.order_id,
            amount_fen=payload.amount_fen,
            payer_account=payload.payer_account,
            signed=signed,
        )
    except DomainError as exc:
        if signed and exc.status != 404:
            services.payment_refusal_log(
                bank_id=bank_id, code=exc.code, reason=exc.message, body=request.body, txn_id=payload.txn_id
            )
        raise
    out = {
        "id": payment.pk,
        "txn_id": payment.txn_id,
        "order_id": payment.order_id,
        "amount_fen": payment.amount_fen,
        "created": created,
    }
    return Status(201 if created else 200, out)


@router.get(
    "/banks/{int:bank_id}/instructions", summary="The bank's release and refund instructions for a day (CSV)"
)
def bank_instructions(request: HttpRequest, bank_id: int, day: date | None = None):
    bank = selectors.bank_get(actor=request.user, bank_id=bank_id)
    lines = selectors.instruction_lines(actor=request.user, bank_id=bank_id, day=day or date.today())
    resp = HttpResponse(services.instruction_file(lines, bank=bank), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="instructions-{bank_id}-{day or date.today()}.csv"'
    return resp


@router.post(
    "/banks/{int:bank_id}/statements", summary="Import a daily bank statement (CSV or .xlsx) and reconcile"
)
def bank_statement(request: HttpRequest, bank_id: int, day: date = Form(...), file: UploadedFile = File(...)):  # noqa: B008
    selectors.bank_get(actor=request.user, bank_id=bank_id)
    text = statement_text(file.read(), filename=file.name or "")
    return services.statement_import(actor=request.user, bank_id=bank_id, day=day, text=text)


@router.get("/differences", summary="Open reconciliation differences in scope")
def differences(request: HttpRequest):
    return [
        {
            "id": d.pk,
            "bank_id": d.bank_id,
            "day": d.day,
            "kind": d.kind,
            "txn_id": d.txn_id,
            "ledger_amount_fen": d.ledger_amount_fen,
            "bank_amount_fen": d.bank_amount_fen,
        }
        for d in selectors.difference_list(actor=request.user)[:500]
    ]


@router.post("/differences/{int:difference_id}/resolve")
def difference_resolve(request: HttpRequest, difference_id: int, payload: DiffResolveIn):
    d = services.difference_resolve(
        actor=request.user,
        difference_id=difference_id,
        resolution=payload.resolution,
        correction_fen=payload.correction_fen,
    )
    return {"id": d.pk, "resolved": d.resolved, "correcting_posting_id": d.correcting_posting_id}
