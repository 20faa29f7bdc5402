"""``qinglang ledger verify``: prove the kept balances equal the sums of their entries,
every posting sums to zero, and every order's paid = released + refunded + held."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Sum

from .models import Entry, LedgerAccount, Order, Posting, PostingCode


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
    lonely = Posting.objects.annotate(n=Count("entries")).filter(n__lt=2).values_list("id", flat=True)[:limit]
    for pid in lonely:
        r.problems.append(f"凭证 {pid} 少于两条分录")
    # per order: entries on its prepaid account by code
    by_order: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        Entry.objects.filter(account__kind="prepaid")
        .values("account__order_id", "posting__code")
        .annotate(s=Sum("amount_fen"))
        .values_list("account__order_id", "posting__code", "s")
    )
    for oid, code, s in rows:
        by_order[oid][code] += s
    held = dict(LedgerAccount.objects.filter(kind="prepaid").values_list("order_id", "balance_fen"))
    for o in Order.objects.values("id", "paid_fen", "released_fen", "refunded_fen").iterator(chunk_size=5000):
        r.orders += 1
        c = by_order.get(o["id"], {})
        paid = -c.get(PostingCode.PAYMENT, 0)
        released = c.get(PostingCode.RELEASE, 0) + c.get(PostingCode.RELEASE_REVERSAL, 0)
        refunded = c.get(PostingCode.REFUND, 0) + c.get(PostingCode.PRO_RATA_REFUND, 0)
        h = -(held.get(o["id"]) or 0)
        if (paid, released, refunded) != (o["paid_fen"], o["released_fen"], o["refunded_fen"]):
            r.problems.append(
                f"订单 {o['id']} 台账(缴 {paid} 拨 {released} 退 {refunded}) 与订单记录"
                f"(缴 {o['paid_fen']} 拨 {o['released_fen']} 退 {o['refunded_fen']}) 不符"
            )
        if paid != released + refunded + h:
            r.problems.append(f"订单 {o['id']}：缴费 {paid} ≠ 拨付 {released} + 退费 {refunded} + 在管 {h}")
        if h < 0:
            r.problems.append(f"订单 {o['id']} 在管余额为负：{h}")
        if len(r.problems) > limit:
            break
    return r
