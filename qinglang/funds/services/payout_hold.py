"""Stopping payouts of an institution that has run away (risk app): releases frozen, and
a release already in the day's instruction to the bank taken back before the bank pays
it — the line is withdrawn and its payout posting reversed (settlement ← custody), so
the money stays in custody for the learners. Refund lines to payers are left alone.
Also the pro-rata refund plan a regulator sees before ordering ``refund_pro_rata``."""

from datetime import date

from django.db import transaction

from qinglang.core.audit import audit_record

from ..ledger import PostingSpec, post
from ..models import InstructionKind, InstructionLine, Order, OrderStatus, Posting, PostingCode
from . import bank_notices
from .banks import _set_frozen
from .common import lock_institution_row
from .refunds import _pro_rata, unconsumed_fen


def payout_hold(*, actor, institution_id: int, day: date, reason: str) -> list[str]:
    """Freeze releases and withdraw the institution's release lines of ``day`` (the refs
    withdrawn). Idempotent: a second call finds nothing left to withdraw."""
    with transaction.atomic():
        acc = _set_frozen(actor=actor, institution_id=institution_id, reason=reason, frozen=True)
        lines = list(
            InstructionLine.objects.select_for_update()
            .filter(institution_id=institution_id, day=day, kind=InstructionKind.RELEASE)
            .order_by("id")
        )
        stopped = []
        for line in lines:
            original = Posting.objects.get(pk=line.posting_id)
            legs = tuple((e.account_id, -e.amount_fen) for e in original.entries.all())
            post(
                [
                    PostingSpec(
                        key=f"payout-hold:{line.ref}",
                        code=PostingCode.SETTLEMENT_PAYOUT,
                        legs=legs,
                        institution_id=institution_id,
                        division_code=acc.division_code,
                        bank_id=acc.bank_id,
                        reverses_id=original.pk,
                        memo="暂停拨付：撤回当日拨付指令",
                    )
                ]
            )
            stopped.append(line.ref)
            audit_record(
                actor=actor,
                action="funds.payout_hold",
                obj=line,
                changes={
                    "ref": line.ref,
                    "day": line.day.isoformat(),
                    "amount_fen": line.amount_fen,
                    "bank_id": line.bank_id,
                    "posting_id": line.posting_id,
                    "reason": reason,
                },
            )
            line.delete()
        bank_notices.payouts_withdrawn(acc=acc, day=day, refs=stopped, actor=actor)
    return stopped


def pro_rata_plan(institution_id: int) -> dict:
    """What ``refund_pro_rata`` would pay each learner now: per open order its claim (the
    unconsumed fees) and its share of what custody holds. Reads only."""
    from ..models import AccountKind, LedgerAccount

    with transaction.atomic():
        lock_institution_row(institution_id)
        orders = list(
            Order.objects.filter(
                institution_id=institution_id,
                status__in=[OrderStatus.PAID, OrderStatus.REFUND_REQUESTED],
            ).order_by("id")
        )
        bal = dict(
            LedgerAccount.objects.filter(
                institution_id=institution_id, kind__in=[AccountKind.CUSTODY, AccountKind.REFUNDS_PAYABLE]
            ).values_list("kind", "balance_fen")
        )
    claims = {o.pk: unconsumed_fen(o) for o in orders}
    total = sum(claims.values())
    available = max(bal.get(AccountKind.CUSTODY, 0) + bal.get(AccountKind.REFUNDS_PAYABLE, 0), 0)
    shares = _pro_rata(claims, min(available, total))
    return {
        "custody_fen": available,
        "claims_fen": total,
        "lines": [
            {"order_id": o.pk, "claim_fen": claims[o.pk], "share_fen": shares.get(o.pk, 0)}
            for o in orders
            if claims[o.pk] > 0
        ],
    }
