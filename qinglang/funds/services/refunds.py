"""Refunds (退费): parent requests, the institution answers within
``refund.institution_response_days`` working days or the refund counts as agreed; a
regulator refunds every learner of a closed, banned or runaway institution pro rata."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from qinglang.accounts.permissions import system
from qinglang.core.audit import Entry as AuditEntry
from qinglang.core.audit import audit_record, audit_record_many
from qinglang.core.calendar import add_working_days
from qinglang.core.errors import DomainError, PermissionDeniedError
from qinglang.core.policy import policy_resolve
from qinglang.registry.models import Status

from ..ledger import PostingSpec, account_get_or_create, post
from ..models import (
    ORDER_TRANSITIONS,
    REFUND_TRANSITIONS,
    AccountKind,
    CustodyAccount,
    LedgerAccount,
    Order,
    OrderStatus,
    Payment,
    PostingCode,
    Refund,
    RefundStatus,
)
from .common import is_regulator_writer, lock_institution_row, lock_order, transition
from .confirmation import release_pending

PRO_RATA_STATUSES = {Status.CLOSED, Status.BANNED, Status.RUNAWAY}
PAYER_FIELDS = ("payer_account", "payer_account_name", "payer_bank", "payment_txn_id")


def _payer_fields(refund: Refund) -> dict[str, str]:
    return {k: getattr(refund, k) for k in PAYER_FIELDS}


def unconsumed_fen(order: Order) -> int:
    """What the ledger still owes the learner: paid − refunded − the value of lessons
    consumed (never below zero)."""
    left = order.paid_fen - order.refunded_fen
    return max(left - min(left, order.lessons_consumed * order.unit_price_fen), 0)


def payer_of(order: Order) -> dict[str, str]:
    """The account the order was paid from, per the bank's payment notification: where
    ``refund.destination`` (original payment account) sends the refund."""
    p = (
        Payment.objects.filter(order_id=order.pk)
        .order_by("id")
        .values("payer_account", "payer_account_name", "payer_bank", "txn_id")
        .first()
    )
    if p is None:
        return {"payer_account": "", "payer_account_name": "", "payer_bank": "", "payment_txn_id": ""}
    return {
        "payer_account": p["payer_account"],
        "payer_account_name": p["payer_account_name"],
        "payer_bank": p["payer_bank"],
        "payment_txn_id": p["txn_id"],
    }


def destination_text(payer: dict[str, str]) -> str:
    """One line naming the payer's account, for postings and instructions."""
    if not payer.get("payer_account"):
        return f"原路退回(原缴费流水 {payer.get('payment_txn_id') or '—'})"
    parts = [payer.get("payer_bank", ""), payer.get("payer_account_name", ""), payer["payer_account"]]
    return "退至 " + " ".join(p for p in parts if p)


def refund_request(*, actor, order_id: int, reason: str) -> Refund:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "请填写退费原因"})
    with transaction.atomic():
        order = lock_order(actor=actor, order_id=order_id, parent=True)
        transition("funds.order", ORDER_TRANSITIONS, order.status, OrderStatus.REFUND_REQUESTED)
        days = int(policy_resolve("refund.institution_response_days", order.division_code).value or 5)
        dest = policy_resolve("refund.destination", order.division_code).value or "original_payment_account"
        refund = Refund.objects.create(
            order=order,
            institution_id=order.institution_id,
            reason=reason[:500],
            amount_fen=unconsumed_fen(order),
            respond_by=add_working_days(timezone.localdate(), days),
            destination=str(dest)[:40],
            **payer_of(order),
            bank_id=order.bank_id,
            division_code=order.division_code,
        )
        order.status = OrderStatus.REFUND_REQUESTED
        order.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="funds.refund_request",
            obj=refund,
            changes={"order_id": order.pk, "reason": reason},
        )
    return refund


def _execute(*, order: Order, amount: int, key: str, code: str, payer: dict[str, str]) -> int | None:
    """Move ``amount`` from the order's prepaid account to refunds payable (the posting
    names the payer's account it is owed to); close the order and release what consumed
    lessons earned. Returns the posting id."""
    posting_id = None
    if amount > 0:
        prepaid = LedgerAccount.objects.get(order_id=order.pk)
        payable = account_get_or_create(
            institution=order.institution, kind=AccountKind.REFUNDS_PAYABLE, bank_id=order.bank_id
        )
        posting_id = post(
            [
                PostingSpec(
                    key=key,
                    code=code,
                    legs=((prepaid.pk, amount), (payable.pk, -amount)),
                    institution_id=order.institution_id,
                    division_code=order.division_code,
                    order_id=order.pk,
                    bank_id=order.bank_id,
                    memo=destination_text(payer),
                )
            ]
        )[0].pk
        order.refunded_fen += amount
    order.lessons_refunded = order.lessons - order.lessons_consumed
    transition("funds.order", ORDER_TRANSITIONS, order.status, OrderStatus.REFUNDED)
    order.status = OrderStatus.REFUNDED
    order.save(update_fields=["refunded_fen", "lessons_refunded", "status"])
    frozen = CustodyAccount.objects.filter(institution_id=order.institution_id, releases_frozen=True).exists()
    release_pending(orders=[order], frozen=frozen, key_prefix=f"refund-close:{order.pk}")
    return posting_id


def _decide(*, actor, refund: Refund, order: Order, target: str, answer: str = "") -> Refund:
    transition("funds.refund", REFUND_TRANSITIONS, refund.status, target)
    before = refund.status
    if target == RefundStatus.REJECTED:
        transition("funds.order", ORDER_TRANSITIONS, order.status, OrderStatus.PAID)
        order.status = OrderStatus.PAID if order.lessons_remaining else OrderStatus.COMPLETED
        order.save(update_fields=["status"])
    else:
        refund.amount_fen = unconsumed_fen(order)
        if not refund.payer_account:  # requested before the account was known
            for k, v in payer_of(order).items():
                setattr(refund, k, v)
        refund.posting_id = _execute(
            order=order,
            amount=refund.amount_fen,
            key=f"refund:{refund.pk}",
            code=PostingCode.REFUND,
            payer=_payer_fields(refund),
        )
    refund.status = target
    refund.answer = answer[:500]
    refund.decided_at = timezone.now()
    refund.save(update_fields=["status", "answer", "decided_at", "amount_fen", "posting_id", *PAYER_FIELDS])
    audit_record(
        actor=actor,
        action="funds.refund_decide",
        obj=refund,
        changes={"status": [before, target], "amount_fen": refund.amount_fen, "answer": answer},
    )
    return refund


def refund_answer(*, actor, refund_id: int, agree: bool, answer: str = "") -> Refund:
    """The institution agrees (the refund is paid from custody at once) or disagrees
    (with a reason; the parent may then complain)."""
    answer = (answer or "").strip()
    if not agree and not answer:
        raise ValidationError({"answer": "不同意退费须说明理由"})
    with transaction.atomic():
        refund = Refund.objects.filter(pk=refund_id).first()
        if refund is None:
            from qinglang.core.errors import NotFound

            raise NotFound("退费申请")
        order = lock_order(actor=actor, order_id=refund.order_id, institution=True, regulator=True)
        refund = Refund.objects.select_for_update(no_key=True).get(pk=refund_id)
        return _decide(
            actor=actor,
            refund=refund,
            order=order,
            target=RefundStatus.AGREED if agree else RefundStatus.REJECTED,
            answer=answer,
        )


def refunds_deem_agreed(*, actor=system("refund-deadline"), today=None) -> int:
    """Refunds unanswered past their deadline count as agreed and are paid. Works from
    current state, so it catches up after downtime."""
    today = today or timezone.localdate()
    n = 0
    due = list(
        Refund.objects.filter(status=RefundStatus.REQUESTED, respond_by__lt=today)
        .order_by("id")
        .values_list("id", "order_id")
    )
    for refund_id, order_id in due:
        with transaction.atomic():
            order = lock_order(actor=actor, order_id=order_id)
            refund = Refund.objects.select_for_update(no_key=True).get(pk=refund_id)
            if refund.status != RefundStatus.REQUESTED:
                continue
            _decide(
                actor=actor,
                refund=refund,
                order=order,
                target=RefundStatus.DEEMED_AGREED,
                answer="逾期未答复，视为同意",
            )
            n += 1
    return n


def refund_pro_rata(*, actor, institution_id: int, reason: str) -> dict:
    """For a closed, banned or runaway institution: refund every learner's remaining
    balance in one action; if the custody account holds less than all claims, each
    learner gets the same share (largest remainders get the odd fen)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "请填写理由"})
    with transaction.atomic():
        inst = lock_institution_row(institution_id)
        if not is_regulator_writer(actor, inst.division_code):
            from qinglang.accounts.scope import in_scope
            from qinglang.core.errors import NotFound

            if not in_scope(inst, actor, regulator_department=False):
                raise NotFound("机构")
            raise PermissionDeniedError("清退须由监管部门执行")
        if inst.status not in PRO_RATA_STATUSES:
            raise DomainError(
                "institution_operating", "机构仍在办学，不能统一清退", {"status": inst.status}, status=409
            )
        orders = list(
            Order.objects.select_for_update(no_key=True)
            .filter(
                institution_id=inst.pk,
                status__in=[OrderStatus.PAID, OrderStatus.REFUND_REQUESTED, OrderStatus.COMPLETED],
            )
            .order_by("id")
        )
        custody = account_get_or_create(institution=inst, kind=AccountKind.CUSTODY)
        payable = account_get_or_create(institution=inst, kind=AccountKind.REFUNDS_PAYABLE)
        custody = LedgerAccount.objects.select_for_update(no_key=True).get(pk=custody.pk)
        payable = LedgerAccount.objects.select_for_update(no_key=True).get(pk=payable.pk)
        claims = {o.pk: unconsumed_fen(o) for o in orders}
        total = sum(claims.values())
        available = max(custody.balance_fen + payable.balance_fen, 0)  # payable is ≤ 0
        shares = _pro_rata(claims, min(available, total))
        refunds = []
        for o in orders:
            share = shares.get(o.pk, 0)
            Refund.objects.filter(order=o, status=RefundStatus.REQUESTED).update(
                status=RefundStatus.AGREED, answer="监管部门统一清退", decided_at=timezone.now()
            )
            if o.status == OrderStatus.REFUND_REQUESTED:
                o.status = OrderStatus.PAID
            if o.status == OrderStatus.COMPLETED:
                continue
            payer = payer_of(o)
            posting_id = _execute(
                order=o,
                amount=share,
                key=f"prorata:{inst.pk}:{o.pk}",
                code=PostingCode.PRO_RATA_REFUND,
                payer=payer,
            )
            refunds.append(
                Refund(
                    order=o,
                    institution_id=inst.pk,
                    status=RefundStatus.REGULATOR,
                    reason=reason[:500],
                    amount_fen=share,
                    **payer,
                    posting_id=posting_id,
                    bank_id=o.bank_id,
                    division_code=o.division_code,
                    decided_at=timezone.now(),
                )
            )
        Refund.objects.bulk_create(refunds)
        summary = {
            "orders": len(refunds),
            "claims_fen": total,
            "available_fen": available,
            "refunded_fen": sum(shares.values()),
        }
        audit_record_many(
            actor=actor,
            entries=[
                AuditEntry(
                    "funds.refund_pro_rata",
                    "registry.institution",
                    str(inst.pk),
                    inst.division_code,
                    {**summary, "reason": reason},
                )
            ],
        )
    return summary


def _pro_rata(claims: dict[int, int], pot: int) -> dict[int, int]:
    total = sum(claims.values())
    if total <= pot:
        return dict(claims)
    if total == 0:
        return dict.fromkeys(claims, 0)
    base = {k: c * pot // total for k, c in claims.items()}
    rest = pot - sum(base.values())
    order = sorted(claims, key=lambda k: (-(claims[k] * pot % total), k))
    for k in order[:rest]:
        base[k] += 1
    return base
