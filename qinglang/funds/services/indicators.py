"""Indicators and signals: custody coverage rate (资金纳管率), custody balance against
unconsumed obligations, large movements (``alerts.large_transaction_ratio``)."""

from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from qinglang.accounts.permissions import is_system
from qinglang.accounts.scope import actor_for, in_scope
from qinglang.core.audit import audit_record
from qinglang.core.errors import NotFound, PermissionDeniedError
from qinglang.core.policy import policy_resolve

from ..models import (
    AccountKind,
    Entry,
    LedgerAccount,
    Order,
    OrderStatus,
    PrepaidDeclaration,
    Signal,
    SignalKind,
)
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


def week_monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def declaration_submit(
    *, actor, institution_id: int, week_start: date, declared_fen: int
) -> PrepaidDeclaration:
    """An institution declares the prepaid fees it holds for a week (申报); the week is
    the one containing ``week_start`` (stored as its Monday). A later declaration for the
    same week replaces the earlier one; weeks that have not begun cannot be declared."""
    if type(declared_fen) is not int or declared_fen < 0:
        raise ValidationError({"declared_fen": gettext_lazy("申报金额须为非负整数(分)")})
    if not isinstance(week_start, date):
        raise ValidationError({"week_start": gettext_lazy("请填写申报周")})
    monday = week_monday(week_start)
    if monday > timezone.localdate():
        raise ValidationError({"week_start": gettext_lazy("不能申报尚未开始的周")})
    with transaction.atomic():
        inst = lock_institution_row(institution_id)
        if not (
            is_system(actor) or is_institution_user(actor, inst.pk) or actor_for(actor).is_platform_admin
        ):
            if not in_scope(inst, actor, regulator_department=False):
                raise NotFound(gettext_lazy("机构"))
            raise PermissionDeniedError(gettext_lazy("预收费由机构申报"))
        prior = PrepaidDeclaration.objects.filter(institution_id=inst.pk, week_start=monday).first()
        d, _ = PrepaidDeclaration.objects.update_or_create(
            institution_id=inst.pk,
            week_start=monday,
            defaults={
                "declared_fen": declared_fen,
                "division_code": inst.division_code,
                "submitted_at": timezone.now(),
            },
        )
        audit_record(
            actor=actor,
            action="funds.declaration_submit",
            obj=d,
            changes={
                "week_start": monday.isoformat(),
                "declared_fen": [prior.declared_fen if prior else None, declared_fen],
            },
        )
    return d


def week_end_instant(week_start: date) -> datetime:
    """The end of the week (next Monday 00:00, local time)."""
    nxt = week_start + timedelta(days=7)
    return timezone.make_aware(datetime(nxt.year, nxt.month, nxt.day))


def coverage_rows(*, declarations, accounts, week_start: date, key: str) -> list[dict]:
    """custody_coverage_rate grouped by ``key`` (a field path of the ledger account):
    prepaid fees held under custody (held and pending release) at the end of the week ÷ prepaid fees declared for
    it. ``declarations`` and ``accounts`` are already scoped querysets. For a past week
    the held figure is the sum of the prepaid accounts' entries posted before the week
    ended; for the current week it is their kept balance."""
    declared = dict(
        declarations.filter(week_start=week_start)
        .values(key)
        .annotate(s=Sum("declared_fen"))
        .values_list(key, "s")
    )
    # pending releases are lessons not yet confirmed: still in custody, still the parents'
    prepaid = accounts.filter(kind__in=[AccountKind.PREPAID, AccountKind.PENDING_RELEASE])
    end = week_end_instant(week_start)
    if end <= timezone.now():
        held = dict(
            Entry.objects.filter(account__in=prepaid.values("id"), posting__created_at__lt=end)
            .values(f"account__{key}")
            .annotate(s=Sum("amount_fen"))
            .values_list(f"account__{key}", "s")
        )
    else:
        held = dict(prepaid.values(key).annotate(s=Sum("balance_fen")).values_list(key, "s"))
    rows = []
    for k in sorted(set(declared) | set(held), key=str):
        h = -(held.get(k) or 0)
        d = declared.get(k) or 0
        rows.append({"group": k, "held_fen": h, "declared_fen": d, "rate": (h / d) if d else None})
    return rows
