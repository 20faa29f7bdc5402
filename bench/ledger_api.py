"""``qinglang bench ledger-api``: one lesson consumption per request
(POST /api/funds/institutions/{id}/lessons, the institution's API token), then one
parent's confirmation per request of those lessons (POST /api/funds/lessons/{id}/confirm,
the parent's token: the pending release posted), each at a fixed open-loop rate (default
200 requests/s) for a bounded duration against gunicorn on loopback; p50/p99 of each.
Goal: p99 ≤ 20 ms at 200 req/s for both. Prepares its own data in a scratch database
(PostgreSQL ``qinglang_bench_ledger_api`` on --server, or a scratch SQLite file with
--sqlite), never the configured one."""

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench._common import Server, cpu_seconds, cpu_used, postgres_backends
from bench._load import percentile

OWN_DATABASE = True  # makes and drops its own scratch databases (see qinglang.cli._bench)

REPO = Path(__file__).resolve().parent.parent
DB = "qinglang_bench_ledger_api"

CHILD = r"""
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglang.config.settings")
sys.path.insert(0, os.getcwd())
import django; django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from qinglang.accounts.permissions import system
from qinglang.accounts.services import api_token_create
from qinglang.funds.testing import funds_world, paid_order
orders_n, per = int(sys.argv[1]), int(sys.argv[2])
w = funds_world(unit_price_fen=100)
orders = [paid_order(w, lessons=per).pk for _ in range(orders_n)]
_, token = api_token_create(actor=system("bench"), user=w.org_user, name="bench ledger-api")
_, parent = api_token_create(actor=system("bench"), user=w.parent, name="bench ledger-api confirm")
print("JSON" + json.dumps({"institution": w.institution.pk, "orders": orders, "token": token, "parent": parent}))
"""

LESSON_IDS = r"""
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglang.config.settings")
import django; django.setup()
from qinglang.funds.models import Lesson
ids = dict(Lesson.objects.filter(event_id__startswith="api-").values_list("event_id", "id"))
print("JSON" + json.dumps([ids[f"api-{i}"] for i in range(int(sys.argv[1])) if f"api-{i}" in ids]))
"""


def _prepare(env: dict, orders: int, per: int, script: str = CHILD) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", script, str(orders), str(per)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads([ln for ln in out.stdout.splitlines() if ln.startswith("JSON")][-1][4:])


def open_loop(
    base: str, path_body, *, rate: float, duration: float, headers: dict, threads: int = 32
) -> dict:
    """Requests are scheduled at fixed times (i / rate); latency counts from the
    scheduled time, so a slow server cannot slow the load down (no coordinated
    omission)."""
    host, port = base.replace("http://", "").split(":")
    n = int(rate * duration)
    lat: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    nxt = iter(range(n))
    start = time.perf_counter() + 0.5

    def worker():
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        while True:
            with lock:
                i = next(nxt, None)
            if i is None:
                break
            due = start + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            path, body = path_body(i)
            try:
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                status = 0
            dt = time.perf_counter() - due
            with lock:
                lat.append(dt)
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    lat.sort()
    return {
        "requests": n,
        "statuses": statuses,
        "p50_ms": percentile(lat, 50) * 1000,
        "p99_ms": percentile(lat, 99) * 1000,
        "max_ms": lat[-1] * 1000 if lat else float("nan"),
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="qinglang bench ledger-api")
    p.add_argument(
        "--server", default=os.environ.get("QINGLANG_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    )
    p.add_argument("--sqlite", action="store_true", help="use a scratch SQLite file instead of PostgreSQL")
    p.add_argument("--rate", type=float, default=200.0)
    p.add_argument("--duration", type=float, default=15.0)
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    p.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    p.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    p.add_argument("--orders", type=int, default=100)
    a = p.parse_args(argv)
    n = int(a.rate * a.duration)
    per = -(-(n + 50) // a.orders) + 1  # headroom for the warm-up
    env = {k: v for k, v in os.environ.items() if k not in ("QINGLANG_DATABASE_URL", "QINGLANG_TESTING")}
    env["QINGLANG_TESTING"] = "false"
    if a.sqlite:
        path = f"/tmp/{DB}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
        env["QINGLANG_SQLITE_PATH"] = path
        label = "sqlite"
    else:
        import psycopg

        with psycopg.connect(a.server + "/postgres", autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {DB}")
            c.execute(f"CREATE DATABASE {DB}")
        env["QINGLANG_DATABASE_URL"] = f"{a.server}/{DB}"
        label = "postgresql"
    data = _prepare(env, a.orders, per)
    orders = data["orders"]
    url = f"/api/funds/institutions/{data['institution']}/lessons"
    headers = {"Authorization": f"Bearer {data['token']}", "Content-Type": "application/json"}

    def path_body(i: int):
        return url, json.dumps({"order_id": orders[i % len(orders)], "event_id": f"api-{i}"})

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        with Server(a.workers, a.worker_class, a.threads) as srv:
            open_loop(
                srv.base,
                lambda i: (url, json.dumps({"order_id": orders[i % len(orders)], "event_id": f"warm-{i}"})),
                rate=50,
                duration=1,
                headers=headers,
            )

            # CPU spent per request by the web workers and by the database's server
            # processes (PostgreSQL on this machine; SQLite runs inside the workers)
            def backends():
                return [] if a.sqlite else postgres_backends(DB)

            web0, db0 = cpu_seconds(srv.worker_pids()), cpu_seconds(backends())
            load0 = os.getloadavg()[0]
            r = open_loop(srv.base, path_body, rate=a.rate, duration=a.duration, headers=headers)
            web_cpu = cpu_used(web0, cpu_seconds(srv.worker_pids()))
            db_cpu = cpu_used(db0, cpu_seconds(backends()))
            # the parent confirms each lesson just recorded: its pending release is posted
            lessons = _prepare(env, n, 0, LESSON_IDS)
            parent_headers = {**headers, "Authorization": f"Bearer {data['parent']}"}
            c = open_loop(
                srv.base,
                lambda i: (f"/api/funds/lessons/{lessons[i % len(lessons)]}/confirm", "{}"),
                rate=a.rate,
                duration=min(a.duration, len(lessons) / a.rate),
                headers=parent_headers,
            )
    finally:
        os.environ.clear()
        os.environ.update(saved)
    ok = r["statuses"].get(200, 0)
    mode = (
        f"{a.workers} sync workers"
        if a.worker_class == "sync"
        else f"{a.workers} gthread workers × {a.threads} threads"
    )
    print(
        f"{label}: {r['requests']} single-lesson POSTs at {a.rate:g}/s open loop for {a.duration:g} s, "
        f"gunicorn {mode}: {ok} ok, statuses {r['statuses']}"
    )
    per = 1000 / max(r["requests"], 1)
    print(
        f"CPU per request: web workers {web_cpu * per:.2f} ms"
        + ("" if a.sqlite else f", PostgreSQL {db_cpu * per:.2f} ms")
        + f" (machine: {os.cpu_count()} CPUs, load average {load0:.1f} at the start)"
    )
    print(
        f"lessons: p50 {r['p50_ms']:.1f} ms  p99 {r['p99_ms']:.1f} ms  max {r['max_ms']:.1f} ms (goal p99 <= 20 ms)"
    )
    c_ok = c["statuses"].get(200, 0)
    print(
        f"{label}: {c['requests']} confirmations at {a.rate:g}/s open loop: {c_ok} ok, statuses {c['statuses']}"
    )
    print(
        f"confirmations: p50 {c['p50_ms']:.1f} ms  p99 {c['p99_ms']:.1f} ms  max {c['max_ms']:.1f} ms"
        " (goal p99 <= 20 ms)"
    )
    worst = max(r["p99_ms"], c["p99_ms"])
    print(
        f"RESULT ledger-api {worst:.1f} ms ratio={worst / 20:.2f} ref=goal_p99_20ms_at_{a.rate:g}rps({label})"
        f",lessons_p99:{r['p99_ms']:.1f}ms,confirm_p99:{c['p99_ms']:.1f}ms"
    )
    return 0 if ok == r["requests"] and c_ok == c["requests"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
