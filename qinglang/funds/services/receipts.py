"""Receipts (凭证) a parent keeps: one for each payment into custody, each lesson whose fee
was posted to the institution (confirmed, deemed confirmed, or a dispute rejected) and
each refund. A receipt names the ledger posting and the audit event (its chain hash)
that recorded the movement, and carries a random verification code (核验码) that anyone
may check at ``/verify/<code>``.

Receipts are issued from the movements themselves, set-based per order: by the periodic
job (``receipts_issue_due``) and, so that a parent never waits for it, when the parent's
order page is opened. Issuing again finds the existing receipt ((kind, object) is
unique); an issue is audited."""

import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from qinglang.accounts.permissions import system
from qinglang.core import ratelimit
from qinglang.core.audit import audit_record
from qinglang.core.i18n import chinese_display
from qinglang.core.models import AuditEvent

from ..models import LESSON_POSTED, Lesson, LessonStatus, Order, Payment, Receipt, ReceiptKind, Refund

# Crockford's base32: no I, L, O or U, so a code read aloud or retyped is unambiguous
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16  # 80 bits
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CODE = re.compile(rf"^[{ALPHABET}]{{{CODE_LENGTH}}}$")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str | None:
    """A code as typed (any case, with hyphens or spaces, O for 0, I or L for 1) in its
    stored form, or None if it cannot be one."""
    raw = re.sub(r"[\s\-]", "", (text or "").upper()).translate(_CONFUSABLE)
    return raw if _CODE.match(raw) else None


def display_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


@dataclass(frozen=True)
class _Movement:
    kind: str
    object_id: int
    amount_fen: int
    occurred_at: object
    posting_id: int
    event: AuditEvent | None


def _events(action: str, object_type: str, ids: list[int]) -> dict[int, AuditEvent]:
    """The latest event of ``action`` for each object."""
    out: dict[int, AuditEvent] = {}
    for e in AuditEvent.objects.filter(
        action=action, object_type=object_type, object_id__in=[str(i) for i in ids]
    ).order_by("seq"):
        out[int(e.object_id)] = e
    return out


def _deemed_event(lesson_id: int) -> AuditEvent | None:
    """The deemed-confirm job records one event per chunk, naming its first and last
    lesson."""
    return (
        AuditEvent.objects.filter(
            action="funds.lessons_deem_confirmed",
            changes__first__lte=lesson_id,
            changes__last__gte=lesson_id,
        )
        .order_by("-seq")
        .first()
    )


def _movements(order: Order, have: set[tuple[str, int]]) -> list[_Movement]:
    out: list[_Movement] = []
    payments = [
        p for p in Payment.objects.filter(order_id=order.pk) if (ReceiptKind.PAYMENT, p.pk) not in have
    ]
    ev = _events("funds.payment_record", "funds.payment", [p.pk for p in payments])
    out += [
        _Movement(ReceiptKind.PAYMENT, p.pk, p.amount_fen, p.paid_at, p.posting_id, ev.get(p.pk))
        for p in payments
    ]
    lessons = [
        x
        for x in Lesson.objects.filter(
            order_id=order.pk, status__in=LESSON_POSTED, settled_posting_id__isnull=False, released_fen__gt=0
        ).order_by("id")
        if (ReceiptKind.CONFIRMATION, x.pk) not in have
    ]
    ids = [x.pk for x in lessons]
    confirmed = _events("funds.lesson_confirm", "funds.lesson", ids)
    decided = _events("funds.lesson_dispute_resolve", "funds.lesson", ids)
    for x in lessons:
        if x.status == LessonStatus.CONFIRMED:
            e = confirmed.get(x.pk)
        elif x.status == LessonStatus.DISPUTE_REJECTED:
            e = decided.get(x.pk)
        else:
            e = _deemed_event(x.pk)
        out.append(
            _Movement(
                ReceiptKind.CONFIRMATION,
                x.pk,
                x.released_fen,
                e.occurred_at if e else x.created_at,
                x.settled_posting_id,
                e,
            )
        )
    refunds = [
        r
        for r in Refund.objects.filter(order_id=order.pk, posting_id__isnull=False, amount_fen__gt=0)
        if (ReceiptKind.REFUND, r.pk) not in have
    ]
    decided_r = _events("funds.refund_decide", "funds.refund", [r.pk for r in refunds])
    for r in refunds:
        e = decided_r.get(r.pk) or (
            AuditEvent.objects.filter(
                action="funds.refund_pro_rata",
                object_type="registry.institution",
                object_id=str(r.institution_id),
            )
            .order_by("-seq")
            .first()
        )
        out.append(
            _Movement(ReceiptKind.REFUND, r.pk, r.amount_fen, r.decided_at or r.created_at, r.posting_id, e)
        )
    return [m for m in out if m.event is not None]


def receipts_issue(*, order: Order, actor=system("receipts")) -> list[Receipt]:
    """Issue the order's missing receipts (one per movement recorded with its audit
    event) and return all of its receipts, oldest first."""
    with transaction.atomic():
        have = set(Receipt.objects.filter(order_id=order.pk).values_list("kind", "object_id"))
        new = [
            Receipt(
                code=new_code(),
                kind=m.kind,
                object_id=m.object_id,
                order_id=order.pk,
                institution_id=order.institution_id,
                amount_fen=m.amount_fen,
                occurred_at=m.occurred_at,
                posting_id=m.posting_id,
                audit_seq=m.event.seq,
                audit_hash=m.event.hash,
                bank_id=order.bank_id,
                division_code=order.division_code,
            )
            for m in _movements(order, have)
        ]
        if new:
            # a concurrent issue of the same movement loses to the unique (kind, object)
            Receipt.objects.bulk_create(new, ignore_conflicts=True)
            audit_record(
                actor=actor,
                action="funds.receipts_issue",
                obj=order,
                changes={"receipts": [[r.kind, r.object_id] for r in new]},
            )
    return list(Receipt.objects.filter(order_id=order.pk).order_by("occurred_at", "id"))


def receipts_issue_due(*, limit: int = 5000) -> int:
    """The periodic job: receipts for every movement that has none yet (payments, posted
    lessons, refunds), order by order; returns the number of orders visited."""
    have = Receipt.objects.values("object_id")
    orders = (
        set(
            Payment.objects.exclude(pk__in=have.filter(kind=ReceiptKind.PAYMENT)).values_list(
                "order_id", flat=True
            )[:limit]
        )
        | set(
            Lesson.objects.filter(
                status__in=LESSON_POSTED, settled_posting_id__isnull=False, released_fen__gt=0
            )
            .exclude(pk__in=have.filter(kind=ReceiptKind.CONFIRMATION))
            .values_list("order_id", flat=True)[:limit]
        )
        | set(
            Refund.objects.filter(Q(posting_id__isnull=False) & Q(amount_fen__gt=0))
            .exclude(pk__in=have.filter(kind=ReceiptKind.REFUND))
            .values_list("order_id", flat=True)[:limit]
        )
    )
    for order in Order.objects.filter(pk__in=sorted(orders)[:limit]).order_by("id"):
        receipts_issue(order=order)
    return len(orders)


@dataclass(frozen=True)
class Verified:
    """What the public verification page shows: nothing about the parent or learner."""

    kind_label: str
    amount_fen: int
    occurred_at: object
    institution_name: str
    state: str
    posting_id: int
    audit_seq: int
    audit_hash: str
    chain_ok: bool


def receipt_state(receipt: Receipt) -> str:
    """Where the movement stands now."""
    if receipt.kind == ReceiptKind.PAYMENT:
        return "已缴入监管账户"
    if receipt.kind == ReceiptKind.CONFIRMATION:
        lesson = Lesson.objects.filter(pk=receipt.object_id).first()
        return chinese_display(lesson, "status") if lesson else "—"
    refund = Refund.objects.filter(pk=receipt.object_id).first()
    return chinese_display(refund, "status") if refund else "—"


def receipt_verify(text: str, *, client: str) -> Verified | None:
    """The receipt a code names, as the public may see it; None for anything else
    (malformed or unknown alike). ``chain_ok``: the audit event the receipt names still
    carries the hash printed on it. Every check counts against ``client`` (its address):
    past ``settings.RECEIPT_VERIFY_PER_MINUTE`` (the page and the API together, counted by
    every worker) it is refused (``RateLimited``, 429) before anything is read: a parent
    checks a few receipts, a script walking codes is stopped."""
    ratelimit.check("receipt-verify", client, settings.RECEIPT_VERIFY_PER_MINUTE, 60, what="核验")
    code = normalise_code(text)
    if code is None:
        return None
    r = Receipt.objects.select_related("institution").filter(code=code).first()
    if r is None:
        return None
    return Verified(
        kind_label=chinese_display(r, "kind"),
        amount_fen=r.amount_fen,
        occurred_at=r.occurred_at,
        institution_name=r.institution.name,
        state=receipt_state(r),
        posting_id=r.posting_id,
        audit_seq=r.audit_seq,
        audit_hash=r.audit_hash,
        chain_ok=AuditEvent.objects.filter(seq=r.audit_seq, hash=r.audit_hash).exists(),
    )
