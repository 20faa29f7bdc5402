"""Every read of the funds app, narrowed by ``restrict`` to what the user may see."""

from datetime import date

from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.models import Membership, Role
from qinglang.accounts.scope import restrict
from qinglang.core.errors import NotFound
from qinglang.core.models import AuditEvent
from qinglang.registry.models import Institution

from .models import (
    Bank,
    CustodyAccount,
    Entry,
    InstructionKind,
    InstructionLine,
    LedgerAccount,
    Lesson,
    LessonBatch,
    LessonStatus,
    NotificationRefusal,
    Order,
    PrepaidDeclaration,
    ReconciliationDifference,
    Refund,
    Signal,
    StatementLine,
)
from .services.banks import banks_administered
from .services.deposits import deposit_requirement
from .services.indicators import coverage_rows, obligations_fen


def order_list(*, actor, status: str | None = None, institution_id: int | None = None) -> QuerySet[Order]:
    qs = restrict(Order.objects.select_related("institution", "course"), actor)
    if status:
        qs = qs.filter(status=status)
    if institution_id:
        qs = qs.filter(institution_id=institution_id)
    return qs.order_by("-id")


def order_get(*, actor, order_id: int) -> Order:
    o = restrict(Order.objects.select_related("institution", "course"), actor).filter(pk=order_id).first()
    if o is None:
        raise NotFound(_("订单"))
    return o


def lesson_list(*, actor, order_id: int | None = None, status: str | None = None) -> QuerySet[Lesson]:
    qs = restrict(Lesson.objects.select_related("order", "order__course"), actor)
    if order_id:
        qs = qs.filter(order_id=order_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-id")


def refund_list(*, actor, status: str | None = None, institution_id: int | None = None) -> QuerySet[Refund]:
    qs = restrict(Refund.objects.select_related("order", "order__course", "institution"), actor)
    if status:
        qs = qs.filter(status=status)
    if institution_id:
        qs = qs.filter(institution_id=institution_id)
    return qs.order_by("-id")


def institution_get(*, actor, institution_id: int) -> Institution:
    inst = (
        restrict(Institution.objects.all(), actor, regulator_department=False)
        .filter(pk=institution_id)
        .first()
    )
    if inst is None:
        raise NotFound(_("机构"))
    return inst


def institution_funds(*, actor, institution_id: int, limit: int = 100) -> dict:
    """An institution's fund page: custody account, balances, obligations, ledger history."""
    inst = institution_get(actor=actor, institution_id=institution_id)
    custody = CustodyAccount.objects.select_related("bank").filter(institution_id=inst.pk).first()
    accounts = {
        a.kind: a.normal_balance
        for a in LedgerAccount.objects.filter(institution_id=inst.pk).exclude(kind="prepaid")
    }
    held = -(
        LedgerAccount.objects.filter(institution_id=inst.pk, kind="prepaid").aggregate(s=Sum("balance_fen"))[
            "s"
        ]
        or 0
    )
    entries = list(
        Entry.objects.filter(account__institution_id=inst.pk)
        .exclude(account__kind="prepaid")
        .select_related("posting", "account")
        .order_by("-id")[:limit]
    )
    return {
        "institution": inst,
        "custody": custody,
        "deposit": deposit_requirement(custody) if custody is not None else None,
        "balances": accounts,
        "held_fen": held,
        "obligations_fen": obligations_fen(inst.pk),
        "entries": entries,
        "signals": list(Signal.objects.filter(institution_id=inst.pk).order_by("-id")[:20]),
    }


def bank_get(*, actor, bank_id: int) -> Bank:
    b = restrict(Bank.objects.all(), actor).filter(pk=bank_id).first()
    if b is None:
        raise NotFound(_("托管银行"))
    return b


def instruction_lines(*, actor, bank_id: int, day: date) -> QuerySet[InstructionLine]:
    bank = bank_get(actor=actor, bank_id=bank_id)
    return restrict(
        InstructionLine.objects.select_related("institution").filter(bank_id=bank.pk, day=day), actor
    ).order_by("ref")


def difference_list(*, actor, resolved: bool = False) -> QuerySet[ReconciliationDifference]:
    return restrict(ReconciliationDifference.objects.filter(resolved=resolved), actor).order_by("-day", "id")


def batch_get(*, actor, batch_id: int) -> LessonBatch:
    b = restrict(LessonBatch.objects.all(), actor).filter(pk=batch_id).first()
    if b is None:
        raise NotFound(_("消课批次"))
    return b


def custody_overview(*, actor, week_start: date) -> dict:
    """Custody of the scope by township and by competent department, with the coverage
    rate (held under custody ÷ declared) for the week."""
    accounts = restrict(LedgerAccount.objects.all(), actor)
    declarations = restrict(PrepaidDeclaration.objects.all(), actor)
    by_township = coverage_rows(
        declarations=declarations,
        accounts=accounts,
        week_start=week_start,
        key="division_code",
    )
    by_dept = coverage_rows(
        declarations=declarations,
        accounts=accounts,
        week_start=week_start,
        key="institution__competent_department__kind",
    )
    # fold community codes into townships
    folded: dict[str, dict] = {}
    for r in by_township:
        k = (r["group"] or "")[:9]
        f = folded.setdefault(k, {"group": k, "held_fen": 0, "declared_fen": 0})
        f["held_fen"] += r["held_fen"]
        f["declared_fen"] += r["declared_fen"]
    for f in folded.values():
        f["rate"] = (f["held_fen"] / f["declared_fen"]) if f["declared_fen"] else None
    totals = restrict(CustodyAccount.objects.all(), actor).aggregate(n=Count("id"))
    return {
        "by_township": sorted(folded.values(), key=lambda r: r["group"]),
        "by_department": by_dept,
        "custody_accounts": totals["n"],
        "refusals": NotificationRefusal.objects.none(),
    }


def batch_list(*, actor, institution_id: int | None = None) -> QuerySet[LessonBatch]:
    qs = restrict(LessonBatch.objects.all(), actor)
    if institution_id:
        qs = qs.filter(institution_id=institution_id)
    return qs.order_by("-id")


def custody_institutions(*, actor) -> QuerySet[CustodyAccount]:
    """Custody accounts of the scope (the console's list of institutions under custody)."""
    return restrict(CustodyAccount.objects.select_related("institution", "bank"), actor).order_by("id")


def bank_list(*, actor) -> QuerySet[Bank]:
    """Custody banks the user may see: a bank operator its own bank, a regulator the
    banks registered in its divisions."""
    return restrict(Bank.objects.all(), actor).order_by("division_code", "code")


def bank_operators(*, actor, bank_id: int) -> tuple[Bank, QuerySet[Membership]]:
    """A bank the actor administers (``services.banks_administered``) and its operators'
    active memberships, with their accounts."""
    bank = banks_administered(actor).filter(pk=bank_id).first()
    if bank is None:
        raise NotFound(_("托管银行"))
    ms = Membership.objects.select_related("user").filter(
        role=Role.BANK_OPERATOR, bank_id=bank.pk, active=True
    )
    return bank, ms.order_by("id")


def instruction_days(*, actor, bank_id: int, limit: int = 60) -> list[dict]:
    """Days with release or refund instructions for a bank (newest first), with the
    number of lines and the amount of each kind."""
    bank = bank_get(actor=actor, bank_id=bank_id)
    rows = (
        restrict(InstructionLine.objects.filter(bank_id=bank.pk), actor)
        .values("day")
        .annotate(
            lines=Count("id"),
            release_fen=Sum("amount_fen", filter=Q(kind=InstructionKind.RELEASE)),
            refund_fen=Sum("amount_fen", filter=Q(kind=InstructionKind.REFUND)),
            refunds=Count("id", filter=Q(kind=InstructionKind.REFUND)),
        )
        .order_by("-day")[:limit]
    )
    return [{**r, "release_fen": r["release_fen"] or 0, "refund_fen": r["refund_fen"] or 0} for r in rows]


def statement_days(*, actor, bank_id: int, limit: int = 30) -> list[dict]:
    """Days of the bank's imported statements (newest first), each with its lines and
    its open and resolved reconciliation differences in the user's scope."""
    bank = bank_get(actor=actor, bank_id=bank_id)
    days = list(
        StatementLine.objects.filter(bank=bank)
        .values("day")
        .annotate(lines=Count("id"), amount_fen=Sum("amount_fen"))
        .order_by("-day")[:limit]
    )
    diffs = {
        r["day"]: r
        for r in restrict(ReconciliationDifference.objects.filter(bank_id=bank.pk), actor)
        .filter(day__in=[d["day"] for d in days])
        .values("day")
        .annotate(open=Count("id", filter=Q(resolved=False)), resolved=Count("id", filter=Q(resolved=True)))
    }
    return [
        {
            **d,
            "open": diffs.get(d["day"], {}).get("open", 0),
            "resolved": diffs.get(d["day"], {}).get("resolved", 0),
        }
        for d in days
    ]


def bank_differences(*, actor, bank_id: int, day: date | None = None) -> QuerySet[ReconciliationDifference]:
    bank = bank_get(actor=actor, bank_id=bank_id)
    qs = restrict(ReconciliationDifference.objects.filter(bank_id=bank.pk), actor)
    if day is not None:
        qs = qs.filter(day=day)
    return qs.order_by("resolved", "-day", "id")


def dispute_list(*, actor, status: str = LessonStatus.DISPUTED) -> list[Lesson]:
    """Disputed lessons in scope (oldest first), each with the parent's reason and,
    for decided ones, the decision's reason (both from the audit trail)."""
    lessons = list(
        restrict(
            Lesson.objects.select_related("order", "order__course", "institution").filter(status=status),
            actor,
        ).order_by("id")[:500]
    )
    notes = _lesson_notes([lesson.pk for lesson in lessons])
    for lesson in lessons:
        lesson.dispute_reason, lesson.decision_note = notes.get(lesson.pk, ("", ""))
    return lessons


def _lesson_notes(ids: list[int]) -> dict[int, tuple[str, str]]:
    out: dict[int, list[str]] = {i: ["", ""] for i in ids}
    events = AuditEvent.objects.filter(
        object_type="funds.lesson",
        object_id__in=[str(i) for i in ids],
        action__in=["funds.lesson_dispute", "funds.lesson_dispute_resolve"],
    ).order_by("seq")
    for e in events.values("object_id", "action", "changes"):
        slot = 0 if e["action"] == "funds.lesson_dispute" else 1
        text = (e["changes"] or {}).get("reason" if slot == 0 else "note") or ""
        out[int(e["object_id"])][slot] = str(text)
    return {k: (v[0], v[1]) for k, v in out.items()}


def declaration_list(
    *, actor, week_start: date | None = None, institution_id: int | None = None
) -> QuerySet[PrepaidDeclaration]:
    qs = restrict(PrepaidDeclaration.objects.select_related("institution"), actor)
    if week_start is not None:
        qs = qs.filter(week_start=week_start)
    if institution_id is not None:
        qs = qs.filter(institution_id=institution_id)
    return qs.order_by("-week_start", "institution_id")


def declarations_missing(*, actor, week_start: date) -> QuerySet[CustodyAccount]:
    """Institutions under custody in scope that have not declared for the week."""
    declared = PrepaidDeclaration.objects.filter(week_start=week_start).values("institution_id")
    return custody_institutions(actor=actor).exclude(institution_id__in=declared)
