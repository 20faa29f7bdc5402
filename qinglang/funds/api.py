"""The funds API: orders, lessons (single and batch), refunds, bank notifications
(HMAC-signed), instructions, statements, reconciliation, institution fund pages."""

import hashlib
import hmac
import logging
import time
from datetime import date, datetime

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import File, Form, Router, Schema, Status
from ninja.errors import AuthenticationError
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
        # a signed notification that fails its signature is unauthenticated (401), not a
        # session request that lacks a CSRF token (the next auth method would say 403)
        raise AuthenticationError()


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
    ends_on: date | None = None  # last day of the charge period (default: months from the start)


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
    pending_fen: int  # lessons recorded, awaiting the parent's confirmation (still in custody)
    released_fen: int  # posted to the institution's settlement
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
    status_label: str
    release: str  # pending / posted / voided / none: where the lesson's fee stands
    released_fen: int
    confirm_by: date

    @staticmethod
    def resolve_status_label(x):
        return x.get_status_display()

    @staticmethod
    def resolve_release(x):
        return x.release_state


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
    payer_account: str = ""  # the paying account: refunds go back to it (refund.destination)
    payer_account_name: str = ""
    payer_bank: str = ""


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
        ends_on=payload.ends_on,
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
            payer_account_name=payload.payer_account_name,
            payer_bank=payload.payer_bank,
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


# --- custody banks, risk deposits, disputes, declarations, coverage ----------------------


class DepositIn(Schema):
    amount_fen: int
    key: str  # client-chosen: a retry with the same key records the top-up once
    note: str = ""


class DecideIn(Schema):
    upheld: bool
    reason: str


class DeclarationIn(Schema):
    week_start: date  # any day of the week; stored as its Monday
    declared_fen: int


def _deposit_out(inst, custody) -> dict:
    req = services.deposit_requirement(custody)
    return {
        "institution": {"id": inst.pk, "name": inst.name},
        "mode": custody.mode,
        "rule": req.ratio.key,
        "ratio": req.ratio.value,
        "set_by": req.ratio.division_code or "national",
        "basis": req.ratio.basis,
        "base_fen": req.base_fen,
        "obligations_fen": req.obligations_fen,
        "declared_fen": req.declared_fen,
        "fixed_fen": req.fixed_fen,
        "required_fen": req.required_fen if req.applies else 0,
        "held_fen": req.held_fen,
        "shortfall_fen": req.shortfall_fen,
        "may_take_orders": req.shortfall_fen == 0,
    }


@router.get("/banks", summary="Custody banks in the caller's scope (a bank operator: its own)")
def bank_list(request: HttpRequest):
    return [
        {"id": b.pk, "code": b.code, "name": b.name, "division_code": b.division_code}
        for b in selectors.bank_list(actor=request.user)[:500]
    ]


@router.get(
    "/banks/{int:bank_id}/instruction-days",
    summary="Days with release and refund instructions for a bank, newest first",
)
def bank_instruction_days(request: HttpRequest, bank_id: int):
    bank = selectors.bank_get(actor=request.user, bank_id=bank_id)
    return {
        "bank": {"id": bank.pk, "code": bank.code, "name": bank.name},
        "days": selectors.instruction_days(actor=request.user, bank_id=bank.pk),
    }


@router.get(
    "/institutions/{int:institution_id}/deposit",
    summary="Risk deposit: required (custody.risk_deposit_ratio) against held",
)
def deposit_get(request: HttpRequest, institution_id: int):
    d = selectors.institution_funds(actor=request.user, institution_id=institution_id, limit=0)
    if d["custody"] is None:
        raise DomainError("no_custody_account", _("机构未开立监管账户"), None, status=404)
    return _deposit_out(d["institution"], d["custody"])


@router.post(
    "/institutions/{int:institution_id}/deposits",
    summary="Record a risk-deposit top-up (regulator or the custody bank; idempotent on key)",
)
def deposit_record(request: HttpRequest, institution_id: int, payload: DepositIn):
    selectors.institution_get(actor=request.user, institution_id=institution_id)
    custody = services.deposit_record(
        actor=request.user,
        institution_id=institution_id,
        amount_fen=payload.amount_fen,
        key=payload.key,
        note=payload.note,
    )
    return _deposit_out(custody.institution, custody)


@router.get("/disputes", summary="Disputed lessons in scope, with the parent's reason")
def dispute_list(request: HttpRequest):
    return [
        {
            "lesson_id": x.pk,
            "order_id": x.order_id,
            "institution_id": x.institution_id,
            "institution_name": x.institution.name,
            "learner_name": x.order.learner_name,
            "given_at": x.given_at,
            "released_fen": x.released_fen,
            "reason": x.dispute_reason,
        }
        for x in selectors.dispute_list(actor=request.user)
    ]


@router.post(
    "/disputes/{int:lesson_id}/decide",
    response=LessonOut,
    summary="A regulator upholds (reverses the release) or rejects a dispute, with a reason",
)
def dispute_decide(request: HttpRequest, lesson_id: int, payload: DecideIn):
    return services.dispute_decide(
        actor=request.user, lesson_id=lesson_id, upheld=payload.upheld, reason=payload.reason
    )


def _declaration_out(d) -> dict:
    return {
        "institution_id": d.institution_id,
        "institution_name": d.institution.name,
        "week_start": d.week_start,
        "declared_fen": d.declared_fen,
        "submitted_at": d.submitted_at,
    }


@router.get("/institutions/{int:institution_id}/declarations", summary="An institution's weekly declarations")
def declaration_list(request: HttpRequest, institution_id: int):
    inst = selectors.institution_get(actor=request.user, institution_id=institution_id)
    rows = selectors.declaration_list(actor=request.user, institution_id=inst.pk)[:104]
    return {
        "institution": {"id": inst.pk, "name": inst.name},
        "declarations": [_declaration_out(d) for d in rows],
    }


@router.post(
    "/institutions/{int:institution_id}/declarations",
    response={201: dict},
    summary="The institution declares the prepaid fees it holds for a week",
)
def declaration_submit(request: HttpRequest, institution_id: int, payload: DeclarationIn):
    d = services.declaration_submit(
        actor=request.user,
        institution_id=institution_id,
        week_start=payload.week_start,
        declared_fen=payload.declared_fen,
    )
    return Status(201, _declaration_out(d))


@router.get(
    "/coverage",
    summary="Custody coverage rate (held ÷ declared) per township and per competent department for a week",
)
def coverage(request: HttpRequest, week: date | None = None):
    from .services.indicators import week_monday

    week_start = week_monday(week or date.today())
    ov = selectors.custody_overview(actor=request.user, week_start=week_start)
    return {
        "week_start": week_start,
        "by_township": ov["by_township"],
        "by_department": ov["by_department"],
        "declarations": selectors.declaration_list(actor=request.user, week_start=week_start).count(),
        "missing": selectors.declarations_missing(actor=request.user, week_start=week_start).count(),
    }
