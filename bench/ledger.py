"""``qinglang bench ledger``: set-based batch lesson consumption (one posting per lesson)
on PostgreSQL, fully durable, against pgbench's built-in TPC-B-like rate on the same
server in the same run; and the same batch on SQLite. Uses scratch databases
(``qinglang_bench_ledger``), never the configured one."""

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
DB = "qinglang_bench_ledger"

CHILD = r"""
import json, os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglang.config.settings")
sys.path.insert(0, os.getcwd())
import django; django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from qinglang.funds.models import Order
from qinglang.funds import services
from qinglang.funds.testing import funds_world, paid_order
orders_n, per = int(sys.argv[1]), int(sys.argv[2])
w = funds_world(unit_price_fen=100)
t0 = time.perf_counter()
orders = [paid_order(w, lessons=per) for _ in range(orders_n)]
prep = time.perf_counter() - t0
rows = [{"event_id": f"e{o.pk}-{i}", "order_id": o.pk} for i in range(per) for o in orders]
from django.db import connection
if connection.vendor == "sqlite":  # durable: the commit waits for the WAL on disk
    with connection.cursor() as c:
        c.execute("PRAGMA synchronous=FULL")
load = os.getloadavg()[0]
t0, c0 = time.perf_counter(), time.process_time()
out = services.lesson_batch_import(actor=w.org_user, institution_id=w.institution.pk, rows=rows)
dt, cpu = time.perf_counter() - t0, time.process_time() - c0
assert out.counts["accepted"] == len(rows), out.counts
from qinglang.funds.verify import ledger_verify
assert ledger_verify().ok
print("JSON" + json.dumps({"events": len(rows), "seconds": dt, "cpu": cpu, "prep": prep, "load": load}))
"""


def _run_child(env: dict, orders: int, per: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(orders), str(per)],
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


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="qinglang bench ledger")
    p.add_argument(
        "--server", default=os.environ.get("QINGLANG_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    )
    p.add_argument("--orders", type=int, default=1000)
    p.add_argument("--lessons", type=int, default=50, help="lessons per order (events = orders × lessons)")
    p.add_argument("--pgbench-seconds", type=int, default=10)
    a = p.parse_args(argv)
    base_env = {k: v for k, v in os.environ.items() if k not in ("QINGLANG_DATABASE_URL", "QINGLANG_TESTING")}
    base_env["QINGLANG_TESTING"] = "false"
    _psql(a.server + "/postgres", f"DROP DATABASE IF EXISTS {DB}")
    _psql(a.server + "/postgres", f"CREATE DATABASE {DB}")
    pg = _run_child(
        {**base_env, "QINGLANG_DATABASE_URL": f"{a.server}/{DB}", "QINGLANG_HUEY_IMMEDIATE": "true"},
        a.orders,
        a.lessons,
    )
    pg_rate = pg["events"] / pg["seconds"]
    print(
        f"postgresql: {pg['events']:,} lesson postings in {pg['seconds']:.2f} s = {pg_rate:,.0f} postings/s"
        f" (prep {pg['prep']:.1f} s; client CPU {pg['cpu']:.2f} s; load average {pg['load']:.1f}"
        f" on {os.cpu_count()} CPUs)"
    )
    # pgbench TPC-B-like on the same server, in its own scratch tables
    m = re.match(r"postgres://(?P<user>[^@:]+)@(?P<host>[^:/]+):(?P<port>\d+)", a.server)
    args = ["-h", m["host"], "-p", m["port"], "-U", m["user"]]
    subprocess.run([PGBENCH, *args, "-i", "-q", "-s", "1", DB], check=True, capture_output=True)
    out = subprocess.run(
        [PGBENCH, *args, "-n", "-c", "2", "-j", "2", "-T", str(a.pgbench_seconds), DB],
        check=True,
        capture_output=True,
        text=True,
    )
    tps = float(re.search(r"tps = ([\d.]+)", out.stdout)[1])
    print(f"pgbench TPC-B-like (2 clients, {a.pgbench_seconds} s): {tps:,.0f} tps")
    _psql(a.server + "/postgres", f"DROP DATABASE IF EXISTS {DB}")
    path = f"/tmp/{DB}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)
    sq = _run_child({**base_env, "QINGLANG_SQLITE_PATH": path}, a.orders, a.lessons)
    sq_rate = sq["events"] / sq["seconds"]
    print(
        f"sqlite (WAL, synchronous=FULL): {sq['events']:,} lesson postings in {sq['seconds']:.2f} s"
        f" = {sq_rate:,.0f} postings/s (load average {sq['load']:.1f})"
    )
    # SQLite runs inside the process, so its CPU time is the whole batch's work; on a
    # machine shared with other jobs the wall clock also counts the time spent waiting
    # for a CPU
    print(
        f"sqlite CPU time {sq['cpu']:.2f} s = {sq['events'] / sq['cpu']:,.0f} postings per CPU-second"
        f" (wall {sq['seconds'] / sq['cpu']:.1f}× CPU)"
    )
    print(
        f"sqlite goal >= 20,000 postings/s: {'met' if sq_rate >= 20000 else 'NOT met'} ({sq_rate / 20000:.2f} of it)"
    )
    print(
        f"RESULT ledger {pg_rate:.0f} postings/s ratio={pg_rate / tps:.2f} ref=pgbench_tpcb:{tps:.0f}tps"
        f",sqlite:{sq_rate:.0f}postings/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
