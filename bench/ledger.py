"""``qinglang bench ledger``: set-based lesson consumption into pending releases (one
posting, one lesson and one transition row per lesson), in batches of 50,000, on
PostgreSQL, fully durable, against pgbench's built-in TPC-B-like rate on the same server
in the same run; and the same on SQLite. ``bench/ledger_confirm.py`` times the second
phase (the deemed-confirm job) with the same machinery. Uses scratch databases
(``qinglang_bench_ledger``, ``qinglang_bench_ledger_confirm``), never the configured one."""

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

OWN_DATABASE = True  # makes and drops its own scratch databases (see qinglang.cli._bench)

REPO = Path(__file__).resolve().parent.parent
PGBENCH = "/usr/lib/postgresql/15/bin/pgbench"

CHILD = r"""
import json, os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglang.config.settings")
sys.path.insert(0, os.getcwd())
import django; django.setup()
from datetime import timedelta
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.utils import timezone
from qinglang.funds.models import Order
from qinglang.funds import services
from qinglang.funds.testing import funds_world, paid_order
mode, orders_n, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
w = funds_world(unit_price_fen=100)
t0 = time.perf_counter()
from django.db import transaction
with transaction.atomic():  # prepared in one transaction: not timed, no commit per order
    orders = [paid_order(w, lessons=per) for _ in range(orders_n)]
rows = [{"event_id": f"e{o.pk}-{i}", "order_id": o.pk} for i in range(per) for o in orders]
from django.db import connection
if connection.vendor == "sqlite":  # durable: the commit waits for the WAL on disk
    with connection.cursor() as c:
        c.execute("PRAGMA synchronous=FULL")

def consume():
    for i in range(0, len(rows), 50_000):  # batches of 50,000
        out = services.lesson_batch_import(
            actor=w.org_user, institution_id=w.institution.pk, rows=rows[i : i + 50_000]
        )
        assert out.counts["accepted"] == len(rows[i : i + 50_000]), out.counts
    return len(rows)

def confirm():  # the deemed-confirm job, on the day after every deadline
    n = services.lessons_deem_confirmed(today=timezone.localdate() + timedelta(days=60))
    assert n == len(rows), n
    return n

if mode == "confirm":
    consume()  # prepared: every lesson pending
prep = time.perf_counter() - t0
load = os.getloadavg()[0]
t0, c0 = time.perf_counter(), time.process_time()
events = (confirm if mode == "confirm" else consume)()
dt, cpu = time.perf_counter() - t0, time.process_time() - c0
from qinglang.funds.verify import ledger_verify
r = ledger_verify()
assert r.ok, r.problems[:5]
print("JSON" + json.dumps({"events": events, "seconds": dt, "cpu": cpu, "prep": prep, "load": load}))
"""

WHAT = {
    "consume": ("ledger", "lessons consumed into pending releases", "lessons/s"),
    "confirm": ("ledger-confirm", "pending releases posted by the deemed-confirm job", "releases/s"),
}


def _run_child(env: dict, mode: str, orders: int, per: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(orders), str(per)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("JSON")][-1]
    return json.loads(line[4:])


def _psql(base: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as c:
        c.execute(sql)


def pgbench_tps(server: str, db: str, seconds: int) -> float:
    """pgbench's built-in TPC-B-like rate (2 clients), in ``db``'s own scratch tables."""
    m = re.match(r"postgres://(?P<user>[^@:]+)@(?P<host>[^:/]+):(?P<port>\d+)", server)
    args = ["-h", m["host"], "-p", m["port"], "-U", m["user"]]
    subprocess.run([PGBENCH, *args, "-i", "-q", "-s", "1", db], check=True, capture_output=True)
    out = subprocess.run(
        [PGBENCH, *args, "-n", "-c", "2", "-j", "2", "-T", str(seconds), db],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(re.search(r"tps = ([\d.]+)", out.stdout)[1])


def run(argv: list[str], mode: str, default_orders: int) -> int:
    name, what, unit = WHAT[mode]
    db = f"qinglang_bench_{name.replace('-', '_')}"
    p = argparse.ArgumentParser(prog=f"qinglang bench {name}")
    p.add_argument(
        "--server", default=os.environ.get("QINGLANG_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    )
    p.add_argument("--orders", type=int, default=default_orders)
    p.add_argument("--lessons", type=int, default=50, help="lessons per order (events = orders × lessons)")
    p.add_argument("--pgbench-seconds", type=int, default=10)
    p.add_argument("--skip-sqlite", action="store_true")
    a = p.parse_args(argv)
    base_env = {k: v for k, v in os.environ.items() if k not in ("QINGLANG_DATABASE_URL", "QINGLANG_TESTING")}
    base_env["QINGLANG_TESTING"] = "false"
    _psql(a.server + "/postgres", f"DROP DATABASE IF EXISTS {db}")
    _psql(a.server + "/postgres", f"CREATE DATABASE {db}")
    pg = _run_child(
        {**base_env, "QINGLANG_DATABASE_URL": f"{a.server}/{db}", "QINGLANG_HUEY_IMMEDIATE": "true"},
        mode,
        a.orders,
        a.lessons,
    )
    pg_rate = pg["events"] / pg["seconds"]
    print(
        f"postgresql: {pg['events']:,} {what} in {pg['seconds']:.2f} s = {pg_rate:,.0f} {unit}"
        f" (prep {pg['prep']:.1f} s; client CPU {pg['cpu']:.2f} s; load average {pg['load']:.1f}"
        f" on {os.cpu_count()} CPUs)"
    )
    tps = pgbench_tps(a.server, db, a.pgbench_seconds)
    print(f"pgbench TPC-B-like (2 clients, {a.pgbench_seconds} s): {tps:,.0f} tps")
    print(f"postgresql goal ratio >= 10: {'met' if pg_rate / tps >= 10 else 'NOT met'} ({pg_rate / tps:.2f})")
    _psql(a.server + "/postgres", f"DROP DATABASE IF EXISTS {db}")
    sq_rate = float("nan")
    if not a.skip_sqlite:
        path = f"/tmp/{db}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
        sq = _run_child({**base_env, "QINGLANG_SQLITE_PATH": path}, mode, a.orders, a.lessons)
        sq_rate = sq["events"] / sq["seconds"]
        print(
            f"sqlite (WAL, synchronous=FULL): {sq['events']:,} {what} in {sq['seconds']:.2f} s"
            f" = {sq_rate:,.0f} {unit} (load average {sq['load']:.1f})"
        )
        # SQLite runs inside the process, so its CPU time is the whole batch's work; on a
        # machine shared with other jobs the wall clock also counts the time spent waiting
        # for a CPU
        print(
            f"sqlite CPU time {sq['cpu']:.2f} s = {sq['events'] / sq['cpu']:,.0f} per CPU-second"
            f" (wall {sq['seconds'] / sq['cpu']:.1f}× CPU)"
        )
        print(
            f"sqlite goal >= 20,000 {unit}: {'met' if sq_rate >= 20000 else 'NOT met'} ({sq_rate / 20000:.2f} of it)"
        )
    print(
        f"RESULT {name} {pg_rate:.0f} {unit} ratio={pg_rate / tps:.2f} ref=pgbench_tpcb:{tps:.0f}tps"
        f",sqlite:{sq_rate:.0f}{unit}"
    )
    return 0


def main(argv: list[str]) -> int:
    return run(argv, "consume", 1000)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
