"""``qinglang bench risk-score [--fresh]``: one day's risk scoring of the national demo on
PostgreSQL. The scratch database ``qinglang_bench_risk_score`` (on the server of
QINGLANG_DATABASE_URL) is prepared once by ``bench._national.prepare``: ``seed-demo
--scale national`` (500,000 institutions) and, set-based in SQL, their funds and clues: a
course and a custody account per institution, ~1,000,000 paid orders over 150 days with
a payment posting each, 100,000 refunds, 200,000 clues over 60 days, 5,000
large-movement signals; it is kept for the next run (``--fresh`` drops and rebuilds it)
and each run deletes only the risk tables. The scoring runs in a child process (its peak
RSS is the memory figure), twice: the first day (every level new) and the day after
(levels known). Reference: one ``SELECT count(*)`` over the postings. Goal: ≤ 120 s.
RESULT: seconds of the first full scoring."""

import argparse
import json
import os
import subprocess
import sys

from bench._common import REPO
from bench._national import SCALES, prepare

NEEDS_POSTGRES = True  # qinglang bench: the scratch database qinglang_bench_risk_score on PostgreSQL
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
