"""``qinglang bench indicators-refresh``: the full recomputation of every indicator's
roll-ups (``analytics.refresh(full=True)``, from empty roll-up tables) on the seeded data, against one sequential
scan of the postings table (``funds_posting``) in the same run; then the incremental
refresh after one day's changes (licences, clues and ledger deadlines touched, the day
marked dirty). RESULT is the full recomputation's seconds. Goal (national demo): full
≤ 120 s, incremental ≤ 10 s."""

import argparse
import time
from datetime import timedelta


def _seq_scan_seconds(table: str) -> tuple[float, int]:
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET LOCAL enable_indexscan = off")
            cur.execute("SET LOCAL enable_indexonlyscan = off")
            cur.execute("SET LOCAL enable_bitmapscan = off")
        t0 = time.monotonic()
        cur.execute(f"SELECT count(*), sum(length(CAST(id AS TEXT))) FROM {table}")
        n = cur.fetchone()[0]
        return time.monotonic() - t0, n


def _one_days_changes(changes: int) -> dict:
    """A day's worth of changes: licences of ``changes`` institutions, the deadlines of
    the clues and ledger items due yesterday moved a day (marking both days dirty)."""
    from django.db import transaction
    from django.utils import timezone

    from qinglang.analytics.hooks import mark_days
    from qinglang.clues.models import Clue
    from qinglang.inspections.models import RectificationItem
    from qinglang.registry.models import Institution

    today = timezone.localdate()
    with transaction.atomic():
        ids = list(
            Institution.objects.filter(whitelisted=False).order_by("?").values_list("id", flat=True)[:changes]
        )
        Institution.objects.filter(id__in=ids[: len(ids) // 2]).update(licence_status="fully_licensed")
        Institution.objects.filter(id__in=ids[len(ids) // 2 :]).update(licence_status="permit_only")
        clues = Clue.objects.filter(resolve_due=today - timedelta(days=1)).count()
        items = RectificationItem.objects.filter(deadline_on=today - timedelta(days=1)).count()
        mark_days([today - timedelta(days=1), today - timedelta(days=2)])
    return {"institutions": len(ids), "clues_due": clues, "items_due": items}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="qinglang bench indicators-refresh")
    p.add_argument("--scale", default="province", help="scale to seed if the database has no institutions")
    p.add_argument("--changes", type=int, default=2000, help="institutions changed in the day's changes")
    a = p.parse_args(argv)
    from django.db import connection, transaction

    from bench._common import db_label, ensure_data
    from qinglang.analytics.models import IndicatorValue
    from qinglang.analytics.refresh import refresh
    from qinglang.funds.models import Posting
    from qinglang.registry.models import Institution

    n = ensure_data(a.scale)
    print(f"database {db_label()}; {n:,} institutions", flush=True)
    with transaction.atomic():
        scan, postings = _seq_scan_seconds(Posting._meta.db_table)
    with transaction.atomic():
        inst_scan, _ = _seq_scan_seconds(Institution._meta.db_table)
    print(
        f"sequential scan: {postings:,} postings in {scan * 1000:.1f} ms; institutions {inst_scan * 1000:.1f} ms"
    )
    # from empty roll-ups: a full recomputation over stored rows rewrites only what differs
    IndicatorValue.objects.all().delete()
    t0 = time.monotonic()
    full = refresh(full=True)
    full_s = time.monotonic() - t0
    rows = IndicatorValue.objects.count()
    print(
        f"full recomputation: {full_s:.2f} s ({full['days']} deadline days, {full['rows']:,} rows written; {rows:,} roll-up rows)"
    )
    changed = _one_days_changes(a.changes)
    t0 = time.monotonic()
    inc = refresh()
    inc_s = time.monotonic() - t0
    print(
        f"incremental refresh after one day's changes {changed}: {inc_s:.2f} s ({inc['days']} days, {inc['rows']:,} rows)"
    )
    goal = "met" if full_s <= 120 and inc_s <= 10 else "NOT met"
    print(f"goal full <= 120 s and incremental <= 10 s: {goal}")
    ref = max(scan, 1e-6)
    print(
        f"RESULT indicators-refresh {full_s:.2f} s ratio={full_s / ref:.1f} "
        f"ref=seqscan:{scan * 1000:.1f}ms/{postings}postings incremental={inc_s:.2f}s vendor={connection.vendor}"
    )
    return 0
