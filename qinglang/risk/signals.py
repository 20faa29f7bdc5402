"""The computed signals: each a set-based query over what the platform already knows,
giving per institution a value and the source rows behind it. Which values fire is
decided by the scorer with the thresholds of the institution's division.

Every function takes the day and yields ``(institution_id, value, evidence)``; evidence
is ``{"model": "<app>.<model>", "ids": [...first 20 source rows...], ...figures}``."""

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from qinglang.core.policy_defaults import RISK_SIGNALS

EVIDENCE_IDS = 20
KINDS: dict[str, str] = {k: label for k, label, *_ in RISK_SIGNALS}
# a signal of these kinds fires at or *below* its threshold
AT_MOST = {"licence_expiring"}
# what townships, banks, the labour inspection and the police may report by hand
MANUAL_KINDS = ["head_unreachable", "wage_arrears", "site_change", "staff_leaving"]
MANUAL_LABELS = {
    "head_unreachable": "负责人失联",
    "wage_arrears": "拖欠工资",
    "site_change": "场所租约到期或变更",
    "staff_leaving": "教职工集中离职",
}
WAGE_WORDS = ["欠薪", "拖欠工资", "工资未发", "发不出工资", "讨薪"]
UNREACHABLE_WORDS = ["联系不上", "失联", "人去楼空", "跑路", "卷款", "关门"]

Row = tuple[int, float, dict]


@dataclass(frozen=True)
class Window:
    day: date

    def start(self, days: int) -> datetime:
        """The first instant of the window of ``days`` days ending with ``day``."""
        return timezone.make_aware(datetime.combine(self.day - timedelta(days=days - 1), time.min))

    @property
    def end(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.day + timedelta(days=1), time.min))


def _grouped(rows: Iterable[tuple[int, int]], model: str, **extra) -> Iterator[Row]:
    """(institution_id, source id) rows → per institution the count and the first ids."""
    by: dict[int, list[int]] = defaultdict(list)
    for inst, pk in rows:
        by[inst].append(pk)
    for inst, ids in by.items():
        yield inst, float(len(ids)), {"model": model, "ids": sorted(ids)[:EVIDENCE_IDS], **extra}


def _merge(*streams: Iterable[Row]) -> Iterator[Row]:
    """Counts of several sources of one signal added up, with each source's evidence."""
    total: dict[int, float] = defaultdict(float)
    ev: dict[int, list] = defaultdict(list)
    for stream in streams:
        for inst, v, e in stream:
            total[inst] += v
            ev[inst].append(e)
    for inst, v in total.items():
        yield inst, v, ({"sources": ev[inst]} if len(ev[inst]) > 1 else ev[inst][0])


class ReportDays:
    """How long a reported signal counts (``risk.manual_signal_days``) in each
    institution's division: ``figure(code)`` the days in force there, ``longest`` the
    most days any division gives (bounding the query). The first day a report still
    counts is worked out once per division and kept, not per report."""

    def __init__(self, figure: Callable[[str], int], longest: int):
        self.figure, self.longest = figure, int(longest)
        self._first: dict[tuple[date, str], date] = {}

    def first_day(self, day: date, division_code: str) -> date:
        key = (day, division_code)
        if key not in self._first:
            self._first[key] = day - timedelta(days=int(self.figure(division_code)) - 1)
        return self._first[key]


def _reports(kind: str, w: Window, manual_days: ReportDays) -> Iterator[Row]:
    """Reports seen within the days of the institution's division (the widest window
    read, each report then held to its own division's first day)."""
    from .models import RiskReport

    rows = RiskReport.objects.filter(
        kind=kind, observed_on__lte=w.day, observed_on__gt=w.day - timedelta(days=manual_days.longest)
    ).values_list("institution_id", "pk", "observed_on", "institution__division_code")
    return _grouped(
        ((inst, pk) for inst, pk, seen, div in rows if seen >= manual_days.first_day(w.day, div)),
        "risk.riskreport",
    )


def _clues_with(words: list[str], w: Window, days: int) -> Iterator[Row]:
    from qinglang.clues.models import Clue

    q = Q()
    for word in words:
        q |= Q(summary__contains=word)
    rows = Clue.objects.filter(
        q, institution_id__isnull=False, received_at__gte=w.start(days), received_at__lt=w.end
    ).values_list("institution_id", "pk")
    return _grouped(rows, "clues.clue")


# --- funds ------------------------------------------------------------------------------

HELD_STATUSES = ["paid", "refund_requested", "completed"]


def custody_shortfall(w: Window, **_) -> Iterator[Row]:
    """Custody balance below the unconsumed prepaid fees owed to learners: value is the
    shortfall as a share of the obligations. The orders are summed per institution first
    and only then joined to the institution's one custody account (its unique constraint):
    looking the account up per order row cost a subquery per order."""
    from qinglang.funds.models import AccountKind, LedgerAccount, Order

    left = "(o.paid_fen - o.refunded_fen)"
    used = "(o.lessons_consumed * o.unit_price_fen)"
    marks = ", ".join(["%s"] * len(HELD_STATUSES))
    sql = (
        f"SELECT s.institution_id, s.owed, a.balance_fen, a.id FROM ("  # noqa: S608 (names from model meta)
        f"SELECT o.institution_id, CAST(SUM(CASE WHEN {used} >= {left} THEN 0 ELSE {left} - {used} END) AS BIGINT) AS owed "
        f"FROM {Order._meta.db_table} o WHERE o.status IN ({marks}) GROUP BY o.institution_id) s "
        f"JOIN {LedgerAccount._meta.db_table} a ON a.institution_id = s.institution_id AND a.kind = %s "
        f"WHERE s.owed > a.balance_fen"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [*HELD_STATUSES, AccountKind.CUSTODY])
        rows = cur.fetchall()
    for inst, owed, bal, acc in rows:
        owed = int(owed)
        yield (
            inst,
            round((owed - bal) / owed, 4),
            {
                "model": "funds.ledgeraccount",
                "ids": [acc] if acc else [],
                "balance_fen": bal,
                "obligations_fen": owed,
            },
        )


def large_movement(w: Window, **_) -> Iterator[Row]:
    """The largest single movement of the last 7 days as a share of the custody balance
    (the funds app's own ``large_movement`` signals, written at each posting)."""
    from qinglang.funds.models import Signal, SignalKind

    best: dict[int, tuple[float, list, list]] = {}
    for inst, pk, v, detail in Signal.objects.filter(
        kind=SignalKind.LARGE_MOVEMENT, created_at__gte=w.start(7), created_at__lt=w.end
    ).values_list("institution_id", "pk", "value", "detail"):
        cur = best.setdefault(inst, (0.0, [], []))
        best[inst] = (max(cur[0], v), cur[1] + [pk], cur[2] + [(detail or {}).get("posting_id")])
    for inst, (v, ids, postings) in best.items():
        yield (
            inst,
            round(v, 4),
            {"model": "funds.signal", "ids": ids[:EVIDENCE_IDS], "postings": postings[:EVIDENCE_IDS]},
        )


def refunds_overdue(w: Window, **_) -> Iterator[Row]:
    """Refund requests left unanswered past the institution's time limit (still open, or
    deemed agreed in the last 30 days because nobody answered)."""
    from qinglang.funds.models import Refund, RefundStatus

    rows = Refund.objects.filter(
        Q(status=RefundStatus.REQUESTED, respond_by__lt=w.day)
        # deemed agreed, whatever the refund's payout has reached since (its transition row)
        | Q(
            transitions__to_status=RefundStatus.DEEMED_AGREED,
            decided_at__gte=w.start(30),
            decided_at__lt=w.end,
        )
    ).values_list("institution_id", "pk")
    return _grouped(rows, "funds.refund")


def _rising(qs, field: str, w: Window, model: str) -> Iterator[Row]:
    """Rows of the last 7 days minus those of the 7 before, per institution: counted in SQL,
    and the first ``EVIDENCE_IDS`` ids of the last 7 days' rows chosen there too (a row
    number per institution), so only the institutions and ids come back, not every row
    with its timestamp."""
    from django.db.models import F, Window
    from django.db.models.functions import RowNumber

    split = w.start(7)
    base = qs.filter(**{f"{field}__gte": w.start(14), f"{field}__lt": w.end}).order_by()
    counts = (
        base.values("institution_id")
        .annotate(
            now=Count("pk", filter=Q(**{f"{field}__gte": split})),
            before=Count("pk", filter=Q(**{f"{field}__lt": split})),
        )
        .filter(now__gt=F("before"))
        .values_list("institution_id", "now", "before")
    )
    rising = {inst: (now, before) for inst, now, before in counts}
    if not rising:
        return
    ids: dict[int, list[int]] = defaultdict(list)
    for inst, pk in (
        base.filter(**{f"{field}__gte": split})
        .annotate(n=Window(RowNumber(), partition_by=[F("institution_id")], order_by=F("pk").asc()))
        .filter(n__lte=EVIDENCE_IDS)
        .values_list("institution_id", "pk")
    ):
        if inst in rising:
            ids[inst].append(pk)
    for inst, (now, before) in rising.items():
        yield (
            inst,
            float(now - before),
            {
                "model": model,
                "ids": sorted(ids[inst]),
                "last_7_days": now,
                "previous_7_days": before,
            },
        )


def refunds_rising(w: Window, **_) -> Iterator[Row]:
    from qinglang.funds.models import Refund

    return _rising(Refund.objects.all(), "created_at", w, "funds.refund")


def _sales(w: Window, cache: dict) -> list:
    """Per institution: orders paid in the last 30 days against the 90 days before (one
    query for the three sales signals of a run)."""
    if "sales" not in cache:
        cache["sales"] = list(_sales_query(w))
    return cache["sales"]


def _sales_query(w: Window):
    from qinglang.funds.models import Order

    recent = Q(created_at__gte=w.start(30))
    before = Q(created_at__lt=w.start(30))
    return (
        Order.objects.filter(paid_fen__gt=0, created_at__gte=w.start(120), created_at__lt=w.end)
        .values("institution_id")
        .annotate(
            amount_30=Coalesce(Sum("amount_fen", filter=recent), 0),
            amount_90=Coalesce(Sum("amount_fen", filter=before), 0),
            lessons_30=Coalesce(Sum("lessons", filter=recent), 0),
            lessons_90=Coalesce(Sum("lessons", filter=before), 0),
            n_30=Count("pk", filter=recent),
            long_30=Count("pk", filter=recent & Q(months__gte=3)),
        )
        .filter(n_30__gt=0)
        .values_list(
            "institution_id", "amount_30", "amount_90", "lessons_30", "lessons_90", "n_30", "long_30"
        )
    )


def _order_evidence(figures: dict) -> dict:
    return {"model": "funds.order", "ids": [], **figures}


def sales_surge(w: Window, *, cache: dict, **_) -> Iterator[Row]:
    """Fees taken in the last 30 days as a multiple of the monthly average of the 90 before
    (an institution without earlier sales is not compared)."""
    for inst, a30, a90, *_rest in _sales(w, cache):
        if a90 > 0:
            yield (
                inst,
                round(a30 / (a90 / 3), 4),
                _order_evidence({"amount_30_fen": a30, "amount_prev_90_fen": a90}),
            )


def price_rise(w: Window, *, cache: dict, **_) -> Iterator[Row]:
    """The average lesson price of the last 30 days' orders against the 90 days before."""
    for inst, a30, a90, l30, l90, *_rest in _sales(w, cache):
        if a90 > 0 and l30 > 0 and l90 > 0:
            yield (
                inst,
                round((a30 / l30) / (a90 / l90), 4),
                _order_evidence({"price_30_fen": a30 // l30, "price_prev_90_fen": a90 // l90}),
            )


def long_packages(w: Window, *, cache: dict, **_) -> Iterator[Row]:
    """The share of the last 30 days' orders that run the full three months or more."""
    for inst, *_a, n30, long30 in _sales(w, cache):
        if long30:
            yield inst, round(long30 / n30, 4), _order_evidence({"orders_30": n30, "long_30": long30})


def order_evidence_ids(inst_ids: list[int], w: Window) -> dict[int, list[int]]:
    """The last 30 days' orders of these institutions (evidence of the sales signals), the
    newest ``EVIDENCE_IDS`` of each chosen in SQL; raw ``IN`` chunks (``core.bulk.select_in``):
    an ORM filter over a hundred thousand ids cost more to build than to run."""
    from qinglang.core.bulk import select_in
    from qinglang.funds.models import Order

    start, end = (connection.ops.adapt_datetimefield_value(x) for x in (w.start(30), w.end))
    sql = (
        "SELECT institution_id, id FROM (SELECT institution_id, id, row_number() OVER "  # noqa: S608
        "(PARTITION BY institution_id ORDER BY id DESC) AS n "
        f"FROM {Order._meta.db_table} WHERE paid_fen > 0 AND created_at >= %s AND created_at < %s "
        "AND institution_id {in}) t WHERE n <= %s ORDER BY institution_id, id DESC"
    )
    out: dict[int, list[int]] = defaultdict(list)
    # the bound after the ids: select_in puts its values last, so the bound is inlined
    for inst, pk in select_in(
        sql.replace("n <= %s", f"n <= {int(EVIDENCE_IDS)}"), inst_ids, params=[start, end]
    ):
        out[inst].append(pk)
    return out


# --- clues --------------------------------------------------------------------------------


def complaints_rising(w: Window, **_) -> Iterator[Row]:
    from qinglang.clues.models import Clue

    return _rising(Clue.objects.filter(institution_id__isnull=False), "received_at", w, "clues.clue")


def complaints_runaway(w: Window, **_) -> Iterator[Row]:
    from qinglang.clues.models import Clue, ClueCategory

    rows = Clue.objects.filter(
        institution_id__isnull=False,
        category__in=[ClueCategory.RUNAWAY, ClueCategory.REFUND_DIFFICULTY],
        received_at__gte=w.start(30),
        received_at__lt=w.end,
    ).values_list("institution_id", "pk")
    return _grouped(rows, "clues.clue")


def wage_arrears(w: Window, *, manual_days: ReportDays, **_) -> Iterator[Row]:
    return _merge(_clues_with(WAGE_WORDS, w, 30), _reports("wage_arrears", w, manual_days))


def head_unreachable(w: Window, *, manual_days: ReportDays, **_) -> Iterator[Row]:
    return _merge(_clues_with(UNREACHABLE_WORDS, w, 14), _reports("head_unreachable", w, manual_days))


def site_change(w: Window, *, manual_days: ReportDays, **_) -> Iterator[Row]:
    return _reports("site_change", w, manual_days)


# --- registry and inspections -------------------------------------------------------------


def staff_leaving(w: Window, *, manual_days: ReportDays, **_) -> Iterator[Row]:
    from qinglang.registry.models import Staff

    rows = Staff.objects.filter(left_on__gt=w.day - timedelta(days=30), left_on__lte=w.day).values_list(
        "institution_id", "pk"
    )
    return _merge(_grouped(rows, "registry.staff"), _reports("staff_leaving", w, manual_days))


def rectification_overdue(w: Window, **_) -> Iterator[Row]:
    from qinglang.inspections.models import OPEN_STATUSES, RectificationItem

    rows = RectificationItem.objects.filter(status__in=OPEN_STATUSES, deadline_on__lt=w.day).values_list(
        "institution_id", "pk"
    )
    return _grouped(rows, "inspections.rectificationitem")


def licence_expiring(w: Window, **_) -> Iterator[Row]:
    """Days until the first of the institution's licences runs out (the last 30 days'
    lapses included, as negative days)."""
    from qinglang.registry.models import Licence

    by: dict[int, tuple[date, list[int]]] = {}
    for inst, pk, until in Licence.objects.filter(
        revoked=False,
        valid_until__gte=w.day - timedelta(days=30),
        valid_until__lte=w.day + timedelta(days=90),
    ).values_list("institution_id", "pk", "valid_until"):
        cur = by.get(inst)
        if cur is None or until < cur[0]:
            by[inst] = (until, [pk])
    for inst, (until, ids) in by.items():
        yield (
            inst,
            float((until - w.day).days),
            {"model": "registry.licence", "ids": ids, "valid_until": until.isoformat()},
        )


COMPUTE = {
    "custody_shortfall": custody_shortfall,
    "large_movement": large_movement,
    "refunds_overdue": refunds_overdue,
    "refunds_rising": refunds_rising,
    "sales_surge": sales_surge,
    "price_rise": price_rise,
    "long_packages": long_packages,
    "complaints_rising": complaints_rising,
    "complaints_runaway": complaints_runaway,
    "wage_arrears": wage_arrears,
    "staff_leaving": staff_leaving,
    "rectification_overdue": rectification_overdue,
    "licence_expiring": licence_expiring,
    "site_change": site_change,
    "head_unreachable": head_unreachable,
}
SALES_KINDS = {"sales_surge", "price_rise", "long_packages"}
assert set(COMPUTE) == set(KINDS)
