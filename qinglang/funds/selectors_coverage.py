"""Custody coverage of every institution (POLICY.md indicators): over all operating
fee-charging institutions of the user's scope — those with no custody account at all
included, and listed by name —

* 账户开通率 (``indicator.custody_account_rate``): institutions with a custody account or
  a risk deposit (an account in risk-deposit mode) opened by the week's end ÷ all of them;
* 资金纳管率 (``indicator.custody_coverage``): prepaid fees held under custody at the
  week's end (the orders' prepaid and pending-release accounts) ÷ prepaid fees declared or
  known — per institution the larger of its declaration for the week and what custody
  holds for it, so an institution that declared nothing still counts what is known.

Per township and per competent department, ranked, each with the change on the week
before. Every figure is one grouped query (correlated subqueries per institution, summed
by the database); nothing loops over institutions.

"Operating" is the registry's 正常办学 status today; "fee-charging" is an institution
with a priced course or any order."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Substr
from django.utils import timezone

from qinglang.accounts.scope import restrict
from qinglang.registry.models import Course, Institution, InstitutionStatus

from .models import AccountKind, CustodyAccount, Entry, LedgerAccount, Order, PrepaidDeclaration

HELD_KINDS = [AccountKind.PREPAID, AccountKind.PENDING_RELEASE]
TOWNSHIP_DIGITS = 9


def _week_end(week_start: date) -> datetime:
    nxt = week_start + timedelta(days=7)
    return timezone.make_aware(datetime(nxt.year, nxt.month, nxt.day))


def operating_fee_charging(qs: QuerySet[Institution] | None = None) -> QuerySet[Institution]:
    """Operating fee-charging institutions (of ``qs``, unscoped: the caller scopes)."""
    priced = Course.objects.filter(institution_id=OuterRef("pk"), unit_price_fen__gt=0)
    ordered = Order.objects.filter(institution_id=OuterRef("pk"))
    qs = Institution.objects.all() if qs is None else qs
    return qs.filter(status=InstitutionStatus.ACTIVE).filter(Exists(priced) | Exists(ordered))


def fee_charging_operating(*, actor) -> QuerySet[Institution]:
    """Operating fee-charging institutions in the user's scope."""
    return operating_fee_charging(restrict(Institution.objects.all(), actor))


def with_coverage(qs: QuerySet[Institution], week_start: date) -> QuerySet[Institution]:
    """Each institution annotated for the week beginning ``week_start``: ``acc`` (a
    custody account opened by the week's end), ``held`` (prepaid fees under custody at
    the week's end, fen) and ``known`` (the larger of held and declared): the figures the
    coverage page sums, for other readers of the same indicators (analytics)."""
    return _annotated(qs, week_start, "")


def _annotated(qs: QuerySet, week_start: date, suffix: str) -> QuerySet:
    end = _week_end(week_start)
    if end > timezone.now():
        # the week is under way: what custody holds is the accounts' kept balances (equal
        # to the sums of their entries, as ``ledger verify`` proves), a few rows per
        # institution rather than every entry it was ever posted
        held = (
            LedgerAccount.objects.filter(institution_id=OuterRef("pk"), kind__in=HELD_KINDS)
            .order_by()
            .values("institution_id")
            .annotate(s=Sum("balance_fen"))
            .values("s")
        )
    else:
        held = (
            Entry.objects.filter(
                account__institution_id=OuterRef("pk"),
                account__kind__in=HELD_KINDS,
                posting__created_at__lt=end,
            )
            .order_by()
            .values("account__institution_id")
            .annotate(s=Sum("amount_fen"))
            .values("s")
        )
    declared = PrepaidDeclaration.objects.filter(institution_id=OuterRef("pk"), week_start=week_start).values(
        "declared_fen"
    )[:1]
    zero = Value(0, output_field=BigIntegerField())
    return qs.annotate(
        **{
            f"acc{suffix}": Exists(
                CustodyAccount.objects.filter(institution_id=OuterRef("pk"), opened_on__lt=end.date())
            ),
            # credits are negative: what custody holds for the parents is minus the sum
            f"held{suffix}": ExpressionWrapper(
                zero - Coalesce(Subquery(held, output_field=BigIntegerField()), zero),
                output_field=BigIntegerField(),
            ),
            f"decl{suffix}": Coalesce(Subquery(declared, output_field=BigIntegerField()), zero),
        }
    ).annotate(
        **{f"known{suffix}": Greatest(F(f"held{suffix}"), F(f"decl{suffix}"), output_field=BigIntegerField())}
    )


@dataclass
class CoverageRow:
    group: str
    label: str
    institutions: int
    with_account: int
    held_fen: int
    known_fen: int
    prev_with_account: int
    prev_held_fen: int
    prev_known_fen: int
    rank: int = 0

    @property
    def account_rate(self) -> float | None:
        return self.with_account / self.institutions if self.institutions else None

    @property
    def coverage_rate(self) -> float | None:
        return self.held_fen / self.known_fen if self.known_fen else None

    @property
    def prev_account_rate(self) -> float | None:
        return self.prev_with_account / self.institutions if self.institutions else None

    @property
    def prev_coverage_rate(self) -> float | None:
        return self.prev_held_fen / self.prev_known_fen if self.prev_known_fen else None

    @staticmethod
    def _delta(now, before) -> float | None:
        return None if now is None or before is None else round((now - before) * 100, 1)

    @property
    def account_change_pp(self) -> float | None:
        """Change on the week before, in percentage points."""
        return self._delta(self.account_rate, self.prev_account_rate)

    @property
    def coverage_change_pp(self) -> float | None:
        return self._delta(self.coverage_rate, self.prev_coverage_rate)

    @property
    def without_account(self) -> int:
        return self.institutions - self.with_account


def _grouped(qs: QuerySet, key, labels) -> list[CoverageRow]:
    rows = (
        qs.annotate(_g=key)
        .order_by()
        .values("_g")
        .annotate(
            n=Count("id"),
            acc=Count("id", filter=Q(acc=True)),
            held=Sum("held"),
            known=Sum("known"),
            acc_p=Count("id", filter=Q(acc_p=True)),
            held_p=Sum("held_p"),
            known_p=Sum("known_p"),
        )
    )
    out = [
        CoverageRow(
            group=r["_g"] or "",
            label=labels(r["_g"] or ""),
            institutions=r["n"],
            with_account=r["acc"],
            held_fen=r["held"] or 0,
            known_fen=r["known"] or 0,
            prev_with_account=r["acc_p"],
            prev_held_fen=r["held_p"] or 0,
            prev_known_fen=r["known_p"] or 0,
        )
        for r in rows
    ]
    return rank(out)


def rank(rows: list[CoverageRow]) -> list[CoverageRow]:
    """Best first: by 账户开通率, then 资金纳管率 (a group with nothing known counts as
    fully covered only after those with figures), then name; equal figures share a rank."""

    def key(r):
        return (-(r.account_rate or 0), -(r.coverage_rate if r.coverage_rate is not None else -1))

    rows.sort(key=lambda r: (*key(r), r.label))
    for i, r in enumerate(rows):
        r.rank = rows[i - 1].rank if i and key(rows[i - 1]) == key(r) else i + 1
    return rows


def coverage_of_all(*, actor, week_start: date, township_label, department_label) -> dict:
    """The two indicators per township and per competent department for the week
    beginning ``week_start`` and the week before, ranked; the totals; and the
    institutions with no custody account (names, township, department)."""
    base = fee_charging_operating(actor=actor)
    qs = _annotated(_annotated(base, week_start, ""), week_start - timedelta(days=7), "_p")
    by_township = _grouped(qs, Substr("division_code", 1, TOWNSHIP_DIGITS), township_label)
    by_department = _grouped(qs, Coalesce(F("competent_department__kind"), Value("")), department_label)
    total = _grouped(qs, Value("all"), lambda _g: "合计")
    missing = (
        base.exclude(Exists(CustodyAccount.objects.filter(institution_id=OuterRef("pk"))))
        .select_related("competent_department")
        .order_by("division_code", "name", "id")
    )
    return {
        "week_start": week_start,
        "by_township": by_township,
        "by_department": by_department,
        "total": total[0] if total and total[0].institutions else None,
        "without_account": missing,
    }
