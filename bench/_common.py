"""Shared parts of the HTTP benchmarks: data preparation, a gunicorn server on a free
loopback port, the load generator (a separate process) and the RESULT line."""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
BENCH_PG = os.environ.get("QINGLANG_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
SCRATCH_PREFIX = "qinglang_bench_"


def use_scratch_database(bench: str, *, needs_postgres: bool = False) -> str:
    """Point this process — and the servers and scripts it starts, through the environment —
    at the benchmark's own scratch database, created if missing and reused afterwards:
    ``qinglang_bench_<bench>`` on the configured PostgreSQL server (or on
    ``QINGLANG_BENCH_PG`` when a PostgreSQL-only benchmark runs with none configured), else
    ``var/bench/<bench>.sqlite3``. The configured database itself is never written to
    (a name that already starts with ``qinglang_bench_`` is taken as chosen on purpose).
    Called by ``qinglang bench`` before Django starts; returns a label."""
    os.environ.setdefault("QINGLANG_DEMO", "true")  # the demo key: no secrets needed to benchmark
    url = os.environ.get("QINGLANG_DATABASE_URL", "")
    if not url and needs_postgres:
        url = BENCH_PG.rstrip("/") + "/postgres"
    if not url:
        path = Path(os.environ.get("QINGLANG_DATA_DIR", REPO / "var")) / "bench" / f"{bench}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("QINGLANG_SQLITE_PATH", str(path))
        return f"sqlite:{os.environ['QINGLANG_SQLITE_PATH']}"
    base, _, query = url.partition("?")
    server, _, current = base.rpartition("/")
    if current.startswith(SCRATCH_PREFIX):
        return f"postgresql:{current}"
    name = SCRATCH_PREFIX + bench
    import psycopg

    try:
        with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
                print(f"creating scratch database {name}", flush=True)
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        raise SystemExit(
            f"cannot reach the PostgreSQL server {server} ({exc}); set QINGLANG_DATABASE_URL or QINGLANG_BENCH_PG"
        )
    os.environ["QINGLANG_DATABASE_URL"] = f"{server}/{name}" + (f"?{query}" if query else "")
    return f"postgresql:{name}"


def http_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    p.add_argument("--concurrency", type=int, default=4, help="concurrent clients")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint")
    p.add_argument("--max-requests", type=int, default=50_000, help="bound per endpoint")
    p.add_argument("--scale", default="district", help="scale to seed if the database has no institutions")


def db_label() -> str:
    from django.conf import settings
    from django.db import connection

    return f"{connection.vendor}:{settings.DATABASES['default']['NAME']}"


def ensure_data(scale: str) -> int:
    """Migrate the configured database (a no-op when up to date) and seed ``scale`` if it
    holds no institutions, so that the command alone works on a fresh clone."""
    from django.core.management import call_command

    from qinglang.portal import demo
    from qinglang.registry.models import Institution

    call_command("migrate", verbosity=0)

    n = Institution.objects.count()
    if n == 0:
        print(f"no institutions: seeding scale={scale} first …", flush=True)
        st = demo.seed(scale=scale, progress=lambda m: print(m, flush=True))
        print(f"seeded {st.institutions:,} institutions in {st.seconds:.1f} s", flush=True)
        n = st.institutions
    return n


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds used so far by each of these processes (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return out


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two ``cpu_seconds`` readings (processes that appeared
    meanwhile count from zero)."""
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def postgres_backends(dbname: str) -> list[int]:
    """The PostgreSQL server processes serving ``dbname`` (their title names it)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith("postgres:") and f" {dbname} " in cmd:
                pids.append(int(d.name))
    return pids


class Server:
    """gunicorn with N workers (sync, or gthread with T threads each), the environment
    passed through."""

    def __init__(self, workers: int, worker_class: str = "sync", threads: int = 1):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "qinglang.config.settings"),
        }
        self.log = open(f"/tmp/qinglang-bench-gunicorn-{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                "qinglang.config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--worker-class",
                worker_class,
                "--threads",
                str(threads),
                "--log-level",
                "warning",
            ],
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/api/ping", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"gunicorn did not start; see {self.log.name}")

    def worker_pids(self) -> list[int]:
        pids = []
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.proc.pid:
                pids.append(int(d.name))
        return pids

    def worker_peak_rss_mb(self) -> float:
        peak = 0.0
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) / 1024)
            except OSError:
                pass
        return peak

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def load(url: str | list[str], args, headers: dict | None = None):
    """Run the load generator on one URL (a result dict) or on several in alternating
    one-second slices (a list of result dicts, in order)."""
    cmd = [
        sys.executable,
        str(REPO / "bench" / "_load.py"),
        *([url] if isinstance(url, str) else url),
        "--concurrency",
        str(args.concurrency),
        "--duration",
        str(args.duration),
        "--max-requests",
        str(args.max_requests),
    ]
    for k, v in (headers or {}).items():
        cmd += ["--header", f"{k}: {v}"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def show(label: str, r: dict) -> None:
    print(
        f"{label:<10} {r['throughput']:8.1f} req/s  p50 {r['p50_ms']:6.1f} ms  p90 {r['p90_ms']:6.1f} ms"
        f"  p99 {r['p99_ms']:6.1f} ms  max {r['max_ms']:6.1f} ms  ({r['ok']} ok, {r['errors']} errors,"
        f" {r['mean_bytes']:.0f} B/response)",
        flush=True,
    )


def compare(name: str, args, target_url: str, headers: dict | None, n_institutions: int) -> int:
    """Load the target and /api/ping of the same server in turn; print the RESULT line."""
    print(
        f"database {db_label()}, {n_institutions:,} institutions; machine: {os.cpu_count()} CPUs", flush=True
    )
    print(
        f"gunicorn {args.workers} sync workers; load: {args.concurrency} concurrent clients,"
        f" {args.duration:g} s per endpoint in alternating 1 s slices",
        flush=True,
    )
    with Server(args.workers) as srv:
        print(f"target: GET {target_url}", flush=True)
        # alternating one-second slices: background load on the machine hits both alike
        target, ping = load([srv.base + target_url, srv.base + "/api/ping"], args, headers)
        rss = srv.worker_peak_rss_mb()
    show(name, target)
    show("ping", ping)
    print(f"peak RSS of one web worker (VmHWM): {rss:.0f} MB", flush=True)
    if target["ok"] == 0:
        print(f"target failed: statuses {target['statuses']}")
        return 1
    ratio = target["throughput"] / ping["throughput"] if ping["throughput"] else 0.0
    goal = "met" if ratio >= 0.5 and target["p99_ms"] <= 50 else "NOT met"
    print(f"goal ratio >= 0.5 and p99 <= 50 ms: {goal} (ratio {ratio:.2f}, p99 {target['p99_ms']:.1f} ms)")
    print(
        f"RESULT {name} {target['throughput']:.1f} req/s ratio={ratio:.2f}"
        f" ref=ping:{ping['throughput']:.1f}req/s"
    )
    return 0
