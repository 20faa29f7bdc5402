"""``qinglang bench indicators-refresh [--scale province|national]``: the full
recomputation of every indicator's roll-ups (``analytics.refresh(full=True)``, from empty
roll-up tables), against one sequential scan of the postings table (``funds_posting``) in
the same run; then the incremental refresh after one day's changes. RESULT is the full
recomputation's seconds. Goal (national demo: 500,000 institutions, ≥ 5,000,000 postings,
200,000 clues): full ≤ 120 s; incremental after one day's changes (50,000 postings, 500
clues, 200 inspections) ≤ 10 s.

The world (PostgreSQL, ``--scale`` province or national): the risk benchmark's
(bench/_national.py: the demo seeded, then its funds and clues set-based) topped up with
what the indicators read (bench/_indicators_world.py: the ledger's accounts, entries and
two-a-week release postings, ≈ 6,000,000 postings on the national world; custody
accounts and declarations; the clues' time limits and progress; inspection campaigns,
tasks, records and rectification items; school reports). Preparing it is idempotent: a
second run reuses it and adds nothing; a database holding the other scale is rebuilt.

The database: the benchmark's own scratch database (``qinglang_bench_indicators_refresh``),
not risk-score's. The top-up changes what the risk scoring reads (clue categories and
statuses, rectification items) and the reference it divides by (the postings, five times
as many), so sharing one database would make each benchmark's figures depend on whether
the other ran first. The twenty minutes of seeding are still saved: a national world
that ``qinglang bench risk-score --prepare-only`` left in ``qinglang_bench_risk_score``
is copied (``CREATE DATABASE … TEMPLATE``, once, when nobody is connected to it) rather
than seeded again, and never written to.

The day's changes (set-based, dated today, the deadline days they touch marked dirty as
the platform's saves mark them) and the incremental refresh after them run in one
transaction that is rolled back once timed, so every run starts from the same world and
the roll-ups of the full recomputation.

Other scales, or SQLite: the demo as seeded (``--scale`` when the database is empty) and a
day of licence changes (``--changes`` institutions, two deadline days marked dirty), kept."""

import argparse
import os
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


def _licences_day(changes: int) -> dict:
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


def _world(scale: str) -> int:
    """The funds, clues and inspections world of ``scale``, prepared once (module docstring)."""
    from bench._common import SCRATCH_PREFIX
    from bench._indicators_world import top_up
    from bench._national import prepare

    n = prepare(scale=scale, template=SCRATCH_PREFIX + "risk_score" if scale == "national" else None)
    top_up()
    return n


def _counts() -> str:
    from django.db import connection

    tables = (
        "funds_posting",
        "funds_entry",
        "clues_clue",
        "inspections_task",
        "inspections_rectificationitem",
    )
    with connection.cursor() as cur:
        cur.execute("SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in tables))
        return ", ".join(f"{n:,} {t.split('_', 1)[1]}" for n, t in zip(cur.fetchone(), tables, strict=True))


def main(argv: list[str]) -> int:
    from bench._national import SCALES

    p = argparse.ArgumentParser(prog="qinglang bench indicators-refresh")
    p.add_argument(
        "--scale",
        default="province",
        help="province or national: the funds, clues and inspections world of that scale (PostgreSQL; one "
        "database holds one: give the other its own, e.g. QINGLANG_DATABASE_URL=…/qinglang_bench_ind_province); "
        "other scales: seeded if the database has no institutions",
    )
    p.add_argument("--postings", type=int, default=50_000, help="ledger postings in the day's changes")
    p.add_argument("--clues", type=int, default=500, help="clues received in the day's changes")
    p.add_argument("--inspections", type=int, default=200, help="inspections done in the day's changes")
    p.add_argument(
        "--changes", type=int, default=2000, help="without the world: institutions changed in the day"
    )
    a = p.parse_args(argv)
    from django.db import connection, transaction

    from bench._common import db_label, ensure_data
    from bench._indicators_world import one_day
    from qinglang.analytics.models import IndicatorValue
    from qinglang.analytics.refresh import refresh
    from qinglang.funds.models import Posting
    from qinglang.registry.models import Institution

    world = connection.vendor == "postgresql" and a.scale in SCALES
    n = _world(a.scale) if world else ensure_data(a.scale)
    print(f"database {db_label()}; {n:,} institutions" + (f"; {_counts()}" if world else ""), flush=True)
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
        f"full recomputation: {full_s:.2f} s ({full['days']} deadline days, {full['rows']:,} rows written; {rows:,} roll-up rows)",
        flush=True,
    )
    with transaction.atomic():
        changed = one_day(a.postings, a.clues, a.inspections) if world else _licences_day(a.changes)
        t0 = time.monotonic()
        inc = refresh()
        inc_s = time.monotonic() - t0
        transaction.set_rollback(world)  # the world stays as prepared for the next run
    print(
        f"incremental refresh after one day's changes {changed}: {inc_s:.2f} s ({inc['days']} days, {inc['rows']:,} rows)"
        + (" (the day and its refresh rolled back)" if world else "")
    )
    goal = "met" if full_s <= 120 and inc_s <= 10 else "NOT met"
    print(f"goal full <= 120 s and incremental <= 10 s: {goal}; load average {os.getloadavg()[0]:.1f}")
    ref = max(scan, 1e-6)
    print(
        f"RESULT indicators-refresh {full_s:.2f} s ratio={full_s / ref:.1f} "
        f"ref=seqscan:{scan * 1000:.1f}ms/{postings}postings incremental={inc_s:.2f}s vendor={connection.vendor}"
    )
    return 0
