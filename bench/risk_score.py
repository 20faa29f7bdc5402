"""``qinglang bench risk-score [--fresh]``: one day's risk scoring of the national demo on
PostgreSQL. The scratch database ``qinglang_bench_risk`` (on the server of
QINGLANG_DATABASE_URL) is seeded once with ``seed-demo --scale national`` (500,000
institutions) and, set-based in SQL, their funds and clues: a course and a custody
account per institution, ~1,000,000 paid orders over 150 days with a payment posting
each, 100,000 refunds, 200,000 clues over 60 days, 5,000 large-movement signals; it is
kept for the next run (``--fresh`` drops and rebuilds it). The scoring runs in a child
process (its peak RSS is the memory figure), twice: the first day (every level new) and
the day after (levels known). Reference: one ``SELECT count(*)`` over the postings.
Goal: ≤ 120 s. RESULT: seconds of the first full scoring."""

import argparse
import json
import os
import subprocess
import sys
import time

from bench._common import REPO

NEEDS_POSTGRES = True  # qinglang bench: the scratch database qinglang_bench_risk_score on PostgreSQL
NATIONAL = 500_000
SCALES = {"national": NATIONAL, "province": 50_000}  # --scale: what the scratch database must hold
RISK_TABLES = (
    "risk_alerttransition",
    "risk_alertaction",
    "risk_alert",
    "risk_risksignal",
    "risk_riskscore",
    "risk_riskstate",
)

CHILD = r"""
import json, os, sys, time, resource
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglang.config.settings")
sys.path.insert(0, os.getcwd())
import django; django.setup()
from datetime import timedelta
from django.db import connection
from django.utils import timezone
from qinglang.risk.scoring import score_day
day = timezone.localdate() + timedelta(days=int(sys.argv[1]))
from bench._common import cpu_seconds
with connection.cursor() as cur:
    t = time.perf_counter(); cur.execute("SELECT count(*) FROM funds_posting"); postings = cur.fetchone()[0]
    count_s = time.perf_counter() - t
    cur.execute("SELECT pg_backend_pid()"); backend = cur.fetchone()[0]  # the server process of this connection
server = cpu_seconds([backend])
t, cpu = time.perf_counter(), time.process_time()
run = score_day(day)
s, cpu = time.perf_counter() - t, time.process_time() - cpu
server_cpu = cpu_seconds([backend]).get(backend, 0.0) - server.get(backend, 0.0)  # parallel workers not counted
print("JSON" + json.dumps({"seconds": s, "cpu_s": cpu, "server_cpu_s": server_cpu, "load": os.getloadavg()[0], "count_s": count_s, "postings": postings, "signals": run.signals,
      "scored": run.scored, "changes": len(run.changes), "by_level": dict(run.by_level), "parts": run.seconds,
      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _cols(model, given: dict[str, str]) -> tuple[str, str]:
    """Column list and SELECT expressions for an INSERT … SELECT into ``model``: the
    expressions given, every other column its field default."""
    from django.db.models import NOT_PROVIDED

    cols, exprs = [], []
    for f in model._meta.concrete_fields:
        if f.primary_key and f.column not in given:
            continue
        cols.append(f.column)
        if f.column in given:
            exprs.append(given[f.column])
        elif f.null:
            exprs.append("NULL")
        elif f.default is not NOT_PROVIDED:
            v = f.get_default()
            exprs.append(
                "'" + json.dumps(v).replace("'", "''") + "'"
                if isinstance(v, (dict, list))
                else (
                    "TRUE"
                    if v is True
                    else "FALSE"
                    if v is False
                    else (str(v) if isinstance(v, int) else f"'{v}'")
                )
            )
        elif getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False):
            exprs.append("now()")
        else:
            exprs.append("''")
    return ", ".join(cols), ", ".join(exprs)


def _insert(cur, model, given: dict[str, str], source: str, params=None) -> int:
    cols, exprs = _cols(model, given)
    t = time.perf_counter()
    cur.execute(f"INSERT INTO {model._meta.db_table} ({cols}) SELECT {exprs} {source}", params)
    print(f"  {model._meta.label}: {cur.rowcount:,} rows in {time.perf_counter() - t:.1f} s", flush=True)
    return cur.rowcount


def generate() -> None:
    """Funds and clues for the seeded institutions, set-based (INSERT … SELECT)."""
    from django.db import connection, transaction

    from qinglang.clues.models import Clue
    from qinglang.funds.models import LedgerAccount, Order, Posting, Refund, Signal
    from qinglang.registry.models import Course

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM funds_order")
        if cur.fetchone()[0]:
            print("funds and clues already generated", flush=True)
            return
        print("generating funds and clues for the national demo (INSERT … SELECT):", flush=True)
        _insert(
            cur,
            Course,
            {
                "institution_id": "i.id",
                "name": "'基准课程'",
                "kind": "i.kind",
                "stage": "'primary'",
                "lessons": "40",
                "unit_price_fen": "(60 + i.id % 140) * 100",
                "approval_status": "'approved'",
                "lesson_minutes": "45",
            },
            "FROM registry_institution i WHERE NOT EXISTS (SELECT 1 FROM registry_course c WHERE c.institution_id = i.id)",
        )
        _insert(
            cur,
            LedgerAccount,
            {
                "kind": "'custody'",
                "institution_id": "i.id",
                "division_code": "i.division_code",
                "balance_fen": "0",
            },
            "FROM registry_institution i",
        )
        # ~1,000,000 orders: two per institution on average (0–4), over the last 150 days
        _insert(
            cur,
            Order,
            {
                "institution_id": "c.institution_id",
                "course_id": "c.id",
                "learner_name": "'学员' || g.n",
                "lessons": "l.lessons",
                "unit_price_fen": "c.unit_price_fen",
                "amount_fen": "l.lessons * c.unit_price_fen",
                "months": "1 + (g.n * 7 + c.id) % 3",
                "starts_on": "(now() - ((g.n * 37 + c.id) % 150) * interval '1 day')::date",
                "release_rule": "'per_lesson'",
                "contract_text": "'合同'",
                "status": "'paid'",
                "division_code": "i.division_code",
                "paid_fen": "l.lessons * c.unit_price_fen",
                "lessons_consumed": "(g.n * 13 + c.id) % l.lessons",
                "created_at": "now() - ((g.n * 37 + c.id) % 150) * interval '1 day'",
            },
            """FROM (SELECT DISTINCT ON (institution_id) * FROM registry_course ORDER BY institution_id, id) c
              JOIN registry_institution i ON i.id = c.institution_id
              CROSS JOIN LATERAL generate_series(1, (c.institution_id * 2654435761 % 5)::int) AS g(n)
              CROSS JOIN LATERAL (SELECT (8 + (c.id + g.n) % 4 * 8) AS lessons) l""",
        )
        # one payment posting per order (the ledger the platform keeps; entries are not read here)
        _insert(
            cur,
            Posting,
            {
                "idempotency_key": "'bench-pay-' || o.id",
                "payload_hash": "md5(o.id::text)",
                "code": "'payment'",
                "institution_id": "o.institution_id",
                "order_id": "o.id",
                "division_code": "o.division_code",
                "amount_fen": "o.amount_fen",
                "memo": "''",
                "created_at": "o.created_at",
            },
            "FROM funds_order o",
        )
        # custody balance: what the orders still hold, short by up to 30 % for one in twenty
        cur.execute("""
            UPDATE funds_ledgeraccount a SET balance_fen = s.owed * CASE WHEN a.institution_id % 20 = 0 THEN 0.7 ELSE 1.05 END
            FROM (SELECT institution_id, sum(greatest(paid_fen - refunded_fen - lessons_consumed * unit_price_fen, 0)) AS owed
                  FROM funds_order GROUP BY institution_id) s
            WHERE a.institution_id = s.institution_id AND a.kind = 'custody'""")
        _insert(
            cur,
            Refund,
            {
                "order_id": "o.id",
                "institution_id": "o.institution_id",
                "status": "CASE WHEN o.id % 3 = 0 THEN 'requested' ELSE 'agreed' END",
                "reason": "'退费'",
                "respond_by": "(o.created_at + interval '12 days')::date",
                "division_code": "o.division_code",
                "created_at": "o.created_at + interval '5 days'",
                "amount_fen": "0",
                "destination": "'original_payment_account'",
            },
            "FROM funds_order o WHERE o.id % 10 = 0 AND o.created_at < now() - interval '5 days'",
        )
        _insert(
            cur,
            Clue,
            {
                "reference": "'B' || g",
                "division_code": "i.division_code",
                "institution_id": "i.id",
                "category": "(ARRAY['refund_difficulty','runaway','price','other','fire_safety','staff_conduct'])[1 + g % 6]",
                "category_source": "'reporter'",
                "summary": "(ARRAY['申请退费没有答复','老师说机构拖欠工资','负责人联系不上','上课时间经常调整','收费过高'])[1 + g % 5]",
                "first_channel": "'hotline'",
                "status": "'received'",
                "received_at": "now() - (g % 60) * interval '1 day'",
                "last_reported_at": "now() - (g % 60) * interval '1 day'",
                "report_count": "1",
                "escalation_level": "0",
                "reopened": "FALSE",
                "suspected_unlicensed": "FALSE",
                "routed_kinds": "''",
                "operator_name": "''",
                "operator_address": "''",
                "operator_key": "''",
                "match_method": "''",
                "finding": "''",
                "feedback": "''",
            },
            """FROM generate_series(1, 200000) g
              JOIN registry_institution i ON i.id = (SELECT min(id) FROM registry_institution)
                   + (g * 7919) % (SELECT count(*) FROM registry_institution)""",
        )
        _insert(
            cur,
            Signal,
            {
                "institution_id": "a.institution_id",
                "kind": "'large_movement'",
                "value": "0.1 + (a.id % 50) / 100.0",
                "detail": "'{}'",
                "division_code": "a.division_code",
                "created_at": "now() - (a.id % 7) * interval '1 day'",
            },
            "FROM funds_ledgeraccount a WHERE a.kind = 'custody' AND a.id % 100 = 0",
        )
    with connection.cursor() as cur:
        for t in (
            "registry_course",
            "funds_order",
            "funds_posting",
            "funds_ledgeraccount",
            "funds_refund",
            "clues_clue",
            "funds_signal",
        ):
            cur.execute(f"ANALYZE {t}")


def prepare(fresh: bool = False, scale: str = "national") -> int:
    """Make the scratch database hold the demo of ``scale`` with its funds and clues: reused
    when it already holds that scale, rebuilt (dropped, created, migrated, seeded) when
    ``fresh`` or when it holds another scale. Returns the number of institutions."""
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("risk-score runs on PostgreSQL: set QINGLANG_DATABASE_URL or QINGLANG_BENCH_PG")
    import psycopg

    env = {**os.environ, "QINGLANG_DEMO": "true", "QINGLANG_TESTING": "false"}
    ql = os.path.join(os.path.dirname(sys.executable), "qinglang")
    name = settings.DATABASES["default"]["NAME"]
    url = os.environ["QINGLANG_DATABASE_URL"].partition("?")[0]
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM registry_institution")
        n = cur.fetchone()[0]
    want = SCALES[scale]
    if fresh or n not in (0, want):
        print(f"scratch database {name} holds {n:,} institutions, not {want:,}: rebuilding it", flush=True)
        connection.close()
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        subprocess.run([ql, "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True)
        n = 0
    if n == 0:
        t = time.monotonic()
        subprocess.run([ql, "seed-demo", "--scale", scale], cwd=REPO, env=env, check=True)
        print(f"seeded the {scale} demo in {time.monotonic() - t:.0f} s", flush=True)
    t = time.monotonic()
    generate()
    print(f"funds and clues ready in {time.monotonic() - t:.0f} s", flush=True)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM registry_institution")
        return cur.fetchone()[0]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="qinglang bench risk-score")
    ap.add_argument("--fresh", action="store_true", help="drop and rebuild the scratch database")
    ap.add_argument("--prepare-only", action="store_true", help="seed the scratch database and stop")
    ap.add_argument(
        "--scale",
        choices=sorted(SCALES),
        default="national",
        help="national (the goal); province to profile on a tenth (give it its own database, "
        "e.g. QINGLANG_DATABASE_URL=…/qinglang_bench_risk_province)",
    )
    a = ap.parse_args(argv)
    from django.db import connection

    n = prepare(a.fresh, a.scale)
    if a.prepare_only:
        return 0
    env = {**os.environ, "QINGLANG_DEMO": "true", "QINGLANG_TESTING": "false"}
    with connection.cursor() as cur:  # each run starts from no levels
        for t in RISK_TABLES:
            cur.execute(f"DELETE FROM {t}")
    connection.close()
    print(
        f"database {os.environ['QINGLANG_DATABASE_URL'].rsplit('/', 1)[1]}: {n:,} institutions; machine: {os.cpu_count()} CPUs",
        flush=True,
    )
    runs = []
    for offset in (0, 1):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(offset)], cwd=REPO, env=env, capture_output=True, text=True
        )
        if out.returncode != 0:
            print(out.stderr[-3000:])
            return 1
        r = json.loads([ln for ln in out.stdout.splitlines() if ln.startswith("JSON")][-1][4:])
        runs.append(r)
        print(
            f"day +{offset}: {r['seconds']:.1f} s (CPU: scoring process {r['cpu_s']:.1f} s, its PostgreSQL backend {r['server_cpu_s']:.1f} s;"
            f" load average {r['load']:.1f} on {os.cpu_count()} CPUs); {r['signals']:,} signals, {r['scored']:,} institutions scored, "
            f"{r['changes']:,} level changes {r['by_level']}; peak RSS {r['peak_rss_mb']:.0f} MB; "
            f"slowest parts {sorted(r['parts'].items(), key=lambda kv: -kv[1])[:6]}",
            flush=True,
        )
    first = runs[0]
    ref = min(r["count_s"] for r in runs)
    peak = max(r["peak_rss_mb"] for r in runs)
    goal = "met" if first["seconds"] <= 120 else "NOT met"
    print(
        f"reference: SELECT count(*) over {first['postings']:,} postings {ref:.3f} s; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"peak memory of the scoring process (max RSS): {peak:.0f} MB")
    print(
        f"goal <= 120 s: {goal} ({first['seconds']:.1f} s for the first day, {runs[1]['seconds']:.1f} s the day after)"
    )
    print(
        f"RESULT risk-score {first['seconds']:.1f} s ratio={first['seconds'] / ref:.0f} ref=count_postings:{ref:.3f}s,goal_120s,peak_rss={peak:.0f}MB"
        f",cpu={first['cpu_s']:.1f}s+server:{first['server_cpu_s']:.1f}s,load={first['load']:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
