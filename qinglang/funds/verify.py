"""``qinglang ledger verify``: prove the kept balances equal the sums of their entries,
every posting sums to zero, every order's paid = held + pending + released + refunded
(the counters and the entries agreeing), and a pending release is posted or voided at
most once; every order, lesson and refund stands where its last transition row left it."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Sum

from .models import (
    LESSON_PENDING,
    LESSON_POSTED,
    LESSON_VOIDED,
    AccountKind,
    Entry,
    LedgerAccount,
    Lesson,
    LessonTransition,
    Order,
    OrderTransition,
    Posting,
    PostingCode,
    Refund,
    RefundTransition,
)


@dataclass
class LedgerReport:
    accounts: int = 0
    postings: int = 0
    orders: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def ledger_verify(*, limit: int = 50) -> LedgerReport:
    r = LedgerReport()
    sums = dict(
        Entry.objects.values("account_id").annotate(s=Sum("amount_fen")).values_list("account_id", "s")
    )
    for acc_id, kind, bal in LedgerAccount.objects.values_list("id", "kind", "balance_fen").iterator(
        chunk_size=5000
    ):
        r.accounts += 1
        if (sums.get(acc_id) or 0) != bal:
            r.problems.append(f"账户 {acc_id}({kind}) 余额 {bal} ≠ 分录合计 {sums.get(acc_id) or 0}")
    r.postings = Posting.objects.count()
    bad = (
        Entry.objects.values("posting_id")
        .annotate(s=Sum("amount_fen"), n=Count("id"))
        .exclude(s=0)
        .values_list("posting_id", "s")[:limit]
    )
    for pid, s in bad:
        r.problems.append(f"凭证 {pid} 分录合计 {s} ≠ 0")
    # entries have no database FK checks (see ``Entry``): every one must name a posting
    # and an account that exist
    for what, model, column in (("凭证", Posting, "posting_id"), ("账户", LedgerAccount, "account_id")):
        orphans = Entry.objects.exclude(**{f"{column}__in": model.objects.values("id")}).values_list(
            "id", column
        )[:limit]
        for eid, ref in orphans:
            r.problems.append(f"分录 {eid} 所属{what} {ref} 不存在")
    # nor do a posting's ``reverses`` and a lesson's history rows (see ``Posting`` and
    # ``LessonTransition``): each must name a posting and a lesson that exist
    for pid, ref in (
        Posting.objects.filter(reverses_id__isnull=False)
        .exclude(reverses_id__in=Posting.objects.values("id"))
        .values_list("id", "reverses_id")[:limit]
    ):
        r.problems.append(f"凭证 {pid} 冲销的凭证 {ref} 不存在")
    for tid, ref in LessonTransition.objects.exclude(lesson_id__in=Lesson.objects.values("id")).values_list(
        "id", "lesson_id"
    )[:limit]:
        r.problems.append(f"消课状态记录 {tid} 所属消课 {ref} 不存在")
    lonely = Posting.objects.annotate(n=Count("entries")).filter(n__lt=2).values_list("id", flat=True)[:limit]
    for pid in lonely:
        r.problems.append(f"凭证 {pid} 少于两条分录")
    _verify_orders(r, limit)
    _verify_pending_once(r, limit)
    _verify_transitions(r, limit)
    return r


_REFUNDS = (PostingCode.REFUND, PostingCode.PRO_RATA_REFUND)


def _verify_orders(r: LedgerReport, limit: int) -> None:
    """Per order, from the entries of the postings naming it: paid (payments into its
    prepaid account), refunded (refunds out of it), pending (on the institution's
    pending-release account) and released (on its settlement account), against the
    order's counters and its prepaid account's kept balance (held):
    paid = held + pending + released + refunded."""
    figures: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        Entry.objects.filter(posting__order_id__isnull=False)
        .values("posting__order_id", "account__kind", "posting__code")
        .annotate(s=Sum("amount_fen"))
        .values_list("posting__order_id", "account__kind", "posting__code", "s")
    )
    for oid, kind, code, s in rows:
        f = figures[oid]
        if kind == AccountKind.PREPAID and code == PostingCode.PAYMENT:
            f["paid"] -= s
        elif kind == AccountKind.PREPAID and code in _REFUNDS:
            f["refunded"] += s
        elif kind == AccountKind.PENDING_RELEASE:
            f["pending"] -= s
        elif kind == AccountKind.SETTLEMENT:
            f["released"] -= s
    held = dict(LedgerAccount.objects.filter(kind="prepaid").values_list("order_id", "balance_fen"))
    cols = ("id", "paid_fen", "pending_fen", "released_fen", "refunded_fen")
    for o in Order.objects.values(*cols).iterator(chunk_size=5000):
        r.orders += 1
        f = figures.get(o["id"], {})
        paid, pending, released, refunded = (f.get(k, 0) for k in ("paid", "pending", "released", "refunded"))
        h = -(held.get(o["id"]) or 0)
        kept = (o["paid_fen"], o["pending_fen"], o["released_fen"], o["refunded_fen"])
        if (paid, pending, released, refunded) != kept:
            r.problems.append(
                f"订单 {o['id']} 台账(缴 {paid} 待确认 {pending} 拨 {released} 退 {refunded}) 与订单记录"
                f"(缴 {kept[0]} 待确认 {kept[1]} 拨 {kept[2]} 退 {kept[3]}) 不符"
            )
        if paid != h + pending + released + refunded:
            r.problems.append(
                f"订单 {o['id']}：缴费 {paid} ≠ 在管 {h} + 待确认 {pending} + 拨付 {released} + 退费 {refunded}"
            )
        if h < 0 or pending < 0:
            r.problems.append(f"订单 {o['id']} 在管或待确认余额为负：{h} / {pending}")
        if len(r.problems) > limit:
            break


def _verify_pending_once(r: LedgerReport, limit: int) -> None:
    """A pending release is posted or voided at most once, and a lesson's status agrees
    with where its release stands."""
    twice = (
        Posting.objects.filter(code__in=[PostingCode.RELEASE_POST, PostingCode.RELEASE_VOID])
        .values("reverses_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("reverses_id", "n")[:limit]
    )
    for pid, n in twice:
        r.problems.append(f"待确认拨付凭证 {pid} 被确认或退回 {n} 次")
    moved = Lesson.objects.filter(released_fen__gt=0, posting_id__isnull=False)
    for lid, status in moved.filter(status__in=LESSON_PENDING, settled_posting_id__isnull=False).values_list(
        "id", "status"
    )[:limit]:
        r.problems.append(f"消课 {lid} 状态为 {status}，拨付却已了结")
    settled = LESSON_POSTED | LESSON_VOIDED
    for lid, status in (
        moved.filter(status__in=settled, settled_posting_id__isnull=True)
        .filter(posting_id__in=Posting.objects.filter(code=PostingCode.RELEASE_PENDING).values("id"))
        .values_list("id", "status")[:limit]
    ):
        r.problems.append(f"消课 {lid} 状态为 {status}，拨付却仍待确认")


def _verify_transitions(r: LedgerReport, limit: int) -> None:
    """Each order, lesson and refund with a history has the status its last transition
    row moved it to (a status written without its row shows here). Set-based: the last
    row per object by one grouped scan (a per-object subquery ordered by id was
    quadratic when the planner walked the primary key backwards)."""
    for model, history, fk, label in (
        (Order, OrderTransition, "order_id", "订单"),
        (Lesson, LessonTransition, "lesson_id", "消课"),
        (Refund, RefundTransition, "refund_id", "退费"),
    ):
        h, o = history._meta.db_table, model._meta.db_table
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT x.id, x.status, t.to_status FROM (SELECT {fk} AS oid, MAX(id) AS last "  # noqa: S608
                f"FROM {h} GROUP BY {fk}) m JOIN {h} t ON t.id = m.last JOIN {o} x ON x.id = m.oid "
                "WHERE t.to_status <> x.status ORDER BY x.id LIMIT %s",
                [limit],
            )
            for pk, status, to in cur.fetchall():
                r.problems.append(f"{label} {pk} 状态为 {status}，最后一条状态记录却是 {to}")
