"""Indicators and signals: custody coverage rate (资金纳管率), custody balance against
unconsumed obligations, large movements (``alerts.large_transaction_ratio``)."""

from datetime import date

from django.db import transaction
from django.db.models import Sum

from qinglang.core.audit import audit_record
from qinglang.core.policy import policy_resolve

from ..models import AccountKind, LedgerAccount, Order, OrderStatus, PrepaidDeclaration, Signal, SignalKind
from .common import is_institution_user, lock_institution_row


def large_movement_check(*, institution, amount_fen: int, posting_id: int) -> Signal | None:
    """Called inside a money service's transaction after a posting."""
    r = policy_resolve("alerts.large_transaction_ratio", institution.division_code)
    bal = (
        LedgerAccount.objects.filter(institution_id=institution.pk, kind=AccountKind.CUSTODY)
        .values_list("balance_fen", flat=True)
        .first()
        or 0
    )
    if r.value is None or bal <= 0:
        return None
    ratio = amount_fen / bal
    if ratio <= float(r.value):
        return None
    return Signal.objects.create(
        institution_id=institution.pk,
        kind=SignalKind.LARGE_MOVEMENT,
        value=ratio,
        detail={
            "posting_id": posting_id,
            "amount_fen": amount_fen,
            "balance_fen": bal,
            "rule": r.key,
            "threshold": r.value,
        },
        division_code=institution.division_code,
    )


def obligations_fen(institution_id: int) -> int:
    """Unconsumed prepaid fees the institution owes its learners."""
    agg = Order.objects.filter(
        institution_id=institution_id,
        status__in=[OrderStatus.PAID, OrderStatus.REFUND_REQUESTED, OrderStatus.COMPLETED],
    ).values_list("paid_fen", "refunded_fen", "lessons_consumed", "unit_price_fen")
    total = 0
    for paid, refunded, consumed, price in agg:
        left = paid - refunded
        total += max(left - min(left, consumed * price), 0)
    return total


def obligation_signals_sweep(*, institution_ids: list[int] | None = None) -> int:
    """Per institution, custody balance against unconsumed obligations; a shortfall is
    stored as a signal for the risk module."""
    qs = LedgerAccount.objects.filter(kind=AccountKind.CUSTODY)
    if institution_ids is not None:
        qs = qs.filter(institution_id__in=institution_ids)
    n = 0
    with transaction.atomic():
        for inst_id, div, bal in qs.values_list("institution_id", "division_code", "balance_fen"):
            owed = obligations_fen(inst_id)
            if owed > bal:
                Signal.objects.create(
                    institution_id=inst_id,
                    kind=SignalKind.OBLIGATION_SHORTFALL,
                    value=(bal / owed) if owed else 1.0,
                    detail={"balance_fen": bal, "obligations_fen": owed},
                    division_code=div,
                )
                n += 1
    return n


def declaration_submit(
    *, actor, institution_id: int, week_start: date, declared_fen: int
) -> PrepaidDeclaration:
    """An institution declares the prepaid fees it holds for a week."""
    from django.core.exceptions import ValidationError

    from qinglang.core.errors import PermissionDeniedError

    if type(declared_fen) is not int or declared_fen < 0:
        raise ValidationError({"declared_fen": "申报金额须为非负整数(分)"})
    with transaction.atomic():
        inst = lock_institution_row(institution_id)
        if not (isinstance(actor, str) or is_institution_user(actor, inst.pk)):
            from qinglang.accounts.scope import actor_for

            if not actor_for(actor).is_platform_admin:
                raise PermissionDeniedError("预收费由机构申报")
        d, _ = PrepaidDeclaration.objects.update_or_create(
            institution_id=inst.pk,
            week_start=week_start,
            defaults={"declared_fen": declared_fen, "division_code": inst.division_code},
        )
        audit_record(
            actor=actor, action="funds.declaration_submit", obj=d, changes={"declared_fen": declared_fen}
        )
    return d


def coverage_rows(*, declarations, accounts, week_start: date, key: str) -> list[dict]:
    """custody_coverage_rate grouped by ``key`` (a field path): held under custody ÷
    declared. ``declarations`` and ``accounts`` are already scoped querysets."""
    declared = dict(
        declarations.filter(week_start=week_start)
        .values(key)
        .annotate(s=Sum("declared_fen"))
        .values_list(key, "s")
    )
    held = dict(
        accounts.filter(kind=AccountKind.PREPAID)
        .values(key)
        .annotate(s=Sum("balance_fen"))
        .values_list(key, "s")
    )
    rows = []
    for k in sorted(set(declared) | set(held), key=str):
        h = -(held.get(k) or 0)
        d = declared.get(k) or 0
        rows.append({"group": k, "held_fen": h, "declared_fen": d, "rate": (h / d) if d else None})
    return rows
