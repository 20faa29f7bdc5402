"""Refunds (退费): parent requests, the institution answers within
``refund.institution_response_days`` working days or the refund counts as agreed; a
regulator refunds every learner of a closed, banned or runaway institution pro rata."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.notifications import institution_users, notify_on_commit
from qinglang.accounts.permissions import system
from qinglang.core.audit import Entry as AuditEntry
from qinglang.core.audit import audit_record, audit_record_many
from qinglang.core.calendar import add_working_days
from qinglang.core.errors import DomainError, PermissionDeniedError
from qinglang.core.i18n import chinese_label
from qinglang.core.money import format_yuan
from qinglang.core.policy import plain_message, policy_resolve
from qinglang.registry.models import InstitutionStatus

from ..ledger import PostingSpec, account_get_or_create, post
from ..models import (
    ORDER_STATES,
    REFUND_STATES,
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
from .common import first_row, is_regulator_writer, lock_institution_row, lock_order, move
from .confirmation import release_pending

PRO_RATA_STATUSES = {InstitutionStatus.CLOSED, InstitutionStatus.BANNED, InstitutionStatus.RUNAWAY}
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
        raise ValidationError({"reason": _("请填写退费原因")})
    with transaction.atomic():
        order = lock_order(actor=actor, order_id=order_id, parent=True)
        ORDER_STATES.check(order.status, OrderStatus.REFUND_REQUESTED)
        days_rule = policy_resolve("refund.institution_response_days", order.division_code)
        dest_rule = policy_resolve("refund.destination", order.division_code)
        days = int(days_rule.value or 5)
        dest = dest_rule.value or "original_payment_account"
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
        first_row(REFUND_STATES, refund, actor=actor, reason=reason[:500])
        move(ORDER_STATES, order, OrderStatus.REFUND_REQUESTED, actor=actor, reason=f"退费申请 {refund.pk}")
        order.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="funds.refund_request",
            obj=refund,
            changes={
                "order_id": order.pk,
                "reason": reason,
                # the deadline and the destination name the rules that set them
                "respond_by": refund.respond_by.isoformat(),
                "respond_rule": days_rule.cite(),
                "destination_rule": dest_rule.cite(),
            },
        )
        notify_on_commit(
            institution_users(order.institution_id),
            kind="refund.requested",
            title=f"家长申请退费(订单{order.pk}，学员{order.learner_name})",
            body=f"退费原因：{reason[:200]}；请于{refund.respond_by:%Y-%m-%d}前答复，逾期视为同意。",
            link=reverse("portal:org_refunds", args=[order.institution_id]),
            actor=actor,
            division_code=order.division_code,
            about=("funds.refund", refund.pk),
        )
    return refund


def _execute(
    *, actor, order: Order, amount: int, key: str, code: str, payer: dict[str, str], reason: str
) -> int | None:
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
    move(ORDER_STATES, order, OrderStatus.REFUNDED, actor=actor, reason=reason)
    order.save(update_fields=["refunded_fen", "lessons_refunded", "status"])
    frozen = CustodyAccount.objects.filter(institution_id=order.institution_id, releases_frozen=True).exists()
    release_pending(orders=[order], frozen=frozen, key_prefix=f"refund-close:{order.pk}")
    return posting_id


def refund_voided(*, actor, order: Order, amount: int, lesson, note: str = "") -> Refund | None:
    """An upheld dispute on an order already refunded: the voided lesson's fee, back in
    the order's held balance, is refunded at once as an agreed refund (prepaid → refunds
    payable, to the original payment account), which the next instruction pays like any
    other. The caller holds the order's lock and saves its counters. Nothing to refund
    (the lesson moved nothing): None."""
    if amount <= 0:
        return None
    payer = payer_of(order)
    refund = Refund.objects.create(
        order=order,
        institution_id=order.institution_id,
        status=RefundStatus.AGREED,
        reason=f"消课异议成立(消课 {lesson.pk})，退还该课时费用",
        answer=(note or "")[:500],
        amount_fen=amount,
        **payer,
        bank_id=order.bank_id,
        division_code=order.division_code,
        decided_at=timezone.now(),
    )
    first_row(REFUND_STATES, refund, actor=actor, reason=f"消课 {lesson.pk} 异议成立")
    prepaid = LedgerAccount.objects.get(order_id=order.pk)
    payable = account_get_or_create(
        institution=order.institution, kind=AccountKind.REFUNDS_PAYABLE, bank_id=order.bank_id
    )
    refund.posting_id = post(
        [
            PostingSpec(
                key=f"refund:{refund.pk}",
                code=PostingCode.REFUND,
                legs=((prepaid.pk, amount), (payable.pk, -amount)),
                institution_id=order.institution_id,
                division_code=order.division_code,
                order_id=order.pk,
                bank_id=order.bank_id,
                memo=destination_text(payer),
            )
        ]
    )[0].pk
    refund.save(update_fields=["posting_id"])
    order.refunded_fen += amount
    return refund


def _decide(*, actor, refund: Refund, order: Order, target: str, answer: str = "", rule=None) -> Refund:
    """``rule``: the rule that decided the outcome (a refund deemed agreed): the transition
    row states it with its key, the answer the parent reads in words, the audit cites it."""
    REFUND_STATES.check(refund.status, target)
    before = refund.status
    if target == RefundStatus.REJECTED:
        ORDER_STATES.check(order.status, OrderStatus.PAID)
        back = OrderStatus.PAID if order.lessons_remaining else OrderStatus.COMPLETED
        move(ORDER_STATES, order, back, actor=actor, reason=f"机构不同意退费 {refund.pk}")
        order.save(update_fields=["status"])
    else:
        refund.amount_fen = unconsumed_fen(order)
        if not refund.payer_account:  # requested before the account was known
            for k, v in payer_of(order).items():
                setattr(refund, k, v)
        refund.posting_id = _execute(
            actor=actor,
            order=order,
            amount=refund.amount_fen,
            key=f"refund:{refund.pk}",
            code=PostingCode.REFUND,
            payer=_payer_fields(refund),
            reason=f"退费 {refund.pk}",
        )
    note = rule.sentence(answer) if rule else answer
    move(REFUND_STATES, refund, target, actor=actor, reason=note[:500])
    answer = plain_message(note) if rule else answer
    refund.answer = answer[:500]
    refund.decided_at = timezone.now()
    refund.save(update_fields=["status", "answer", "decided_at", "amount_fen", "posting_id", *PAYER_FIELDS])
    audit_record(
        actor=actor,
        action="funds.refund_decide",
        obj=refund,
        changes={
            "status": [before, target],
            "amount_fen": refund.amount_fen,
            "answer": answer,
            **({"rule": rule.cite()} if rule else {}),
        },
    )
    if order.parent_id:
        notify_on_commit(
            [order.parent_id],
            kind="refund.answered",
            title=f"退费申请{chinese_label(RefundStatus, target)}(订单{order.pk}，学员{order.learner_name})",
            body=(f"退费金额：{format_yuan(refund.amount_fen)}。" if target != RefundStatus.REJECTED else "")
            + (f"机构答复：{answer[:200]}" if answer else ""),
            link=reverse("portal:parent_order", args=[order.pk]),
            actor=actor,
            division_code=order.division_code,
            about=("funds.refund", refund.pk),
        )
    return refund


def refund_answer(*, actor, refund_id: int, agree: bool, answer: str = "") -> Refund:
    """The institution agrees (the refund is paid from custody at once) or disagrees
    (with a reason; the parent may then complain)."""
    answer = (answer or "").strip()
    if not agree and not answer:
        raise ValidationError({"answer": _("不同意退费须说明理由")})
    with transaction.atomic():
        refund = Refund.objects.filter(pk=refund_id).first()
        if refund is None:
            from qinglang.core.errors import NotFound

            raise NotFound(_("退费申请"))
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
                # the figure that set the deadline: the one in force on the request's day
                rule=policy_resolve(
                    "refund.institution_response_days",
                    refund.division_code,
                    on=timezone.localdate(refund.created_at),
                ),
            )
            n += 1
    return n


def refund_pro_rata(*, actor, institution_id: int, reason: str) -> dict:
    """For a closed, banned or runaway institution: refund every learner's remaining
    balance in one action; if the custody account holds less than all claims, each
    learner gets the same share (largest remainders get the odd fen)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写理由")})
    with transaction.atomic():
        inst = lock_institution_row(institution_id)
        _check_pro_rata_allowed(actor, inst)
        orders = list(
            Order.objects.select_for_update(no_key=True)
            .filter(
                institution_id=inst.pk,
                status__in=[OrderStatus.PAID, OrderStatus.REFUND_REQUESTED, OrderStatus.COMPLETED],
            )
            .order_by("id")
        )
        custody, payable = _lock_refund_accounts(inst)
        claims = {o.pk: unconsumed_fen(o) for o in orders}
        total = sum(claims.values())
        available = max(custody.balance_fen + payable.balance_fen, 0)  # payable is ≤ 0
        shares = _pro_rata(claims, min(available, total))
        _overtake_open_requests(actor, orders)
        refunds = _refund_shares(actor, inst, orders, shares, reason)
        Refund.objects.bulk_create(refunds)
        REFUND_STATES.record_many(
            [(r.pk, r.status, r.status) for r in refunds], actor=actor, reason=reason[:500]
        )
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


def _check_pro_rata_allowed(actor, inst) -> None:
    """A regulator of the institution's division, and an institution no longer operating."""
    if not is_regulator_writer(actor, inst.division_code):
        from qinglang.accounts.scope import in_scope
        from qinglang.core.errors import NotFound

        if not in_scope(inst, actor, regulator_department=False):
            raise NotFound(_("机构"))
        raise PermissionDeniedError(_("清退须由监管部门执行"))
    if inst.status not in PRO_RATA_STATUSES:
        raise DomainError(
            "institution_operating", _("机构仍在办学，不能统一清退"), {"status": inst.status}, status=409
        )


def _lock_refund_accounts(inst) -> tuple[LedgerAccount, LedgerAccount]:
    """The institution's custody and refunds-payable accounts (created at need), locked."""
    custody = account_get_or_create(institution=inst, kind=AccountKind.CUSTODY)
    payable = account_get_or_create(institution=inst, kind=AccountKind.REFUNDS_PAYABLE)
    custody = LedgerAccount.objects.select_for_update(no_key=True).get(pk=custody.pk)
    payable = LedgerAccount.objects.select_for_update(no_key=True).get(pk=payable.pk)
    return custody, payable


def _overtake_open_requests(actor, orders: list[Order]) -> None:
    """Open requests are overtaken by the regulator's refund (one statement, with their
    transition rows)."""
    open_ids = list(
        Refund.objects.filter(order__in=orders, status=RefundStatus.REQUESTED).values_list("id", flat=True)
    )
    Refund.objects.filter(pk__in=open_ids).update(
        status=RefundStatus.AGREED, answer="监管部门统一清退", decided_at=timezone.now()
    )
    REFUND_STATES.record_many(
        [(pk, RefundStatus.REQUESTED, RefundStatus.AGREED) for pk in open_ids],
        actor=actor,
        reason="监管部门统一清退",
    )


def _refund_shares(actor, inst, orders: list[Order], shares: dict[int, int], reason: str) -> list[Refund]:
    """Each order not completed refunded its share, back to its payer: posted, and its
    refund (not yet saved) returned."""
    refunds = []
    for o in orders:
        share = shares.get(o.pk, 0)
        if o.status == OrderStatus.COMPLETED:
            continue
        payer = payer_of(o)
        posting_id = _execute(
            actor=actor,
            order=o,
            amount=share,
            key=f"prorata:{inst.pk}:{o.pk}",
            code=PostingCode.PRO_RATA_REFUND,
            payer=payer,
            reason=f"监管清退：{reason[:200]}",
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
    return refunds


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
