"""``qinglang bench clue-import``: import 34,447 hotline work orders (the valid clues the
national reporting channel passed on in one period) from a generated .xlsx — match,
dedupe, classify and route every one, in one transaction — against the registry in the
database (district demo on SQLite, province 50,000 on PostgreSQL). Goal ≤ 10 s.

Reference in the same run: reading the same file with openpyxl alone (the floor any
import pays). The import is rolled back afterwards (``--keep`` to keep it), so the
benchmark can be repeated on the same database. The deferred foreign-key checks a commit
would run are forced inside the timed part (``SET CONSTRAINTS ALL IMMEDIATE``), so the
rollback does not flatter the figure.

On PostgreSQL the run never writes into the configured database: it creates (once) and
reuses its own scratch database ``qinglang_bench_clue_import`` on the same server (``--database``
to name another), migrates it and seeds the province scale into it if it has fewer than
50,000 institutions, then re-runs itself against it. SQLite uses the configured file (the
district demo is seeded if it is empty)."""

import argparse
import io
import os
import random
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench._common import db_label, ensure_data

USERNAME = "bench-clue-leader"
SCRATCH = "qinglang_bench_clue_import"  # the name `qinglang bench` gives it


def _use_scratch_database(name: str) -> None:
    """Re-run this command against the scratch database ``name`` (created if missing)."""
    import sys

    from django.db import connection

    if connection.settings_dict["NAME"] == name:
        return
    if name in ("test", "postgres") or name.startswith("test_"):
        raise SystemExit(f"refusing to use {name!r} as a benchmark database")
    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cur.fetchone() is None:
            print(f"creating scratch database {name}", flush=True)
            cur.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    url = os.environ["QINGLANG_DATABASE_URL"].split("?", 1)[0].rsplit("/", 1)[0] + "/" + name
    os.environ["QINGLANG_DATABASE_URL"] = url
    os.environ.setdefault("QINGLANG_DEMO", "true")
    os.execv(sys.executable, [sys.executable, *sys.argv])


def _prepare_scratch(scale: str) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from qinglang.registry.models import Institution

    if scale == "province" and 0 < Institution.objects.count() < 50_000:
        raise SystemExit("the scratch database holds a smaller registry: drop it or pass --database")


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _leader(prefix: str):
    from django.db import transaction

    from qinglang.accounts.models import User
    from qinglang.accounts.permissions import system
    from qinglang.accounts.services import membership_grant, user_create

    with transaction.atomic():
        user = User.objects.filter(username=USERNAME).first()
        if user is None:
            user = user_create(
                actor=system("bench"),
                username=USERNAME,
                password="Bench-not-for-login-2026",
                display_name="基准测试 热线导入",
                check_password=False,
            )
            membership_grant(
                actor=system("bench"), user=user, role="regulator_leader", division_prefixes=[prefix]
            )
    return user


def build_file(*, rows: int, prefix: str, seed: int) -> bytes:
    from openpyxl import Workbook

    from qinglang.clues.demo import hotline_rows
    from qinglang.clues.services import HOTLINE_COLUMNS
    from qinglang.core.models import Division
    from qinglang.registry.models import Institution

    rng = random.Random(seed)
    insts = list(
        Institution.objects.filter(division_code__startswith=prefix)
        .values_list("name", "address", "division_code")
        .order_by("id")
    )
    sample = rng.sample(insts, min(len(insts), 8000)) if insts else []
    places = list(
        Division.objects.filter(code__startswith=prefix, level=4).values_list("code", flat=True)
    ) or [prefix]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("工单")
    ws.append(HOTLINE_COLUMNS)
    start = datetime.now() - timedelta(days=28)
    for row in hotline_rows(n=rows, institutions=sample, places=places, rng=rng, start=start):
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def read_only_seconds(data: bytes) -> float:
    from openpyxl import load_workbook

    t = time.perf_counter()
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    n = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    assert n > 0
    return time.perf_counter() - t


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="qinglang bench clue-import")
    p.add_argument("--rows", type=int, default=34_447)
    p.add_argument(
        "--scale",
        default="",
        help="scale to seed if the database has no institutions (default: district on SQLite, province on PostgreSQL)",
    )
    p.add_argument("--database", default=SCRATCH, help="PostgreSQL scratch database (created if missing)")
    p.add_argument(
        "--prefix", default="", help="division the file covers (default: 510107 on SQLite, 51 otherwise)"
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--keep", action="store_true", help="keep the imported clues (default: roll back)")
    a = p.parse_args(argv)
    from django.db import connection, transaction

    if connection.vendor == "postgresql":
        _use_scratch_database(a.database)  # returns only when connected to it
        _prepare_scratch(a.scale or "province")
    n = ensure_data(a.scale or ("district" if connection.vendor == "sqlite" else "province"))

    from qinglang.clues.models import Clue, ClueReport
    from qinglang.clues.services import clue_import_hotline

    prefix = a.prefix or ("510107" if connection.vendor == "sqlite" else "51")
    user = _leader(prefix)
    print(f"database {db_label()}, {n:,} institutions; machine: {os.cpu_count()} CPUs", flush=True)
    t = time.perf_counter()
    data = build_file(rows=a.rows, prefix=prefix, seed=a.seed)
    print(
        f"generated {a.rows:,} work orders for {prefix}: {len(data) / 1e6:.1f} MB in {time.perf_counter() - t:.1f} s"
    )
    from qinglang.clues import classify

    t, was = time.perf_counter(), classify.model_path()
    built = was is not None and was.exists()
    classify.persisted_model(classify.current_examples())  # what `qinglang clue_model` does
    classify._models.clear()  # the import loads the persisted file, as a fresh process would
    print(
        f"category model: {'persisted file present' if built else f'built once in {time.perf_counter() - t:.1f} s (not part of an import)'}"
        f" ({was.name if was else 'in memory'})"
    )
    ref = read_only_seconds(data)
    print(f"reference: openpyxl read-only pass over the file {ref:.2f} s")
    rss_before = _rss_mb()

    class Rollback(Exception):
        pass

    result = {}
    try:
        with transaction.atomic():
            t, cpu = time.perf_counter(), time.process_time()
            batch = clue_import_hotline(actor=user, division_code=prefix, filename="bench.xlsx", data=data)
            t_fk = time.perf_counter()
            if connection.vendor == "postgresql":  # what COMMIT would check (rolled back below)
                with connection.cursor() as cur:
                    cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            fk = time.perf_counter() - t_fk
            elapsed = time.perf_counter() - t
            cpu = time.process_time() - cpu
            clues = Clue.objects.filter(import_batch=batch)
            result = {
                "elapsed": elapsed,
                "cpu": cpu,
                "fk": fk,
                "batch": batch,
                "matched": clues.filter(institution__isnull=False).count(),
                "unlicensed": clues.filter(suspected_unlicensed=True).count(),
                "routed": clues.exclude(routed_kinds="").count(),
                "reports": ClueReport.objects.filter(clue__import_batch=batch).count(),
                "by_source": dict(Counter_(clues.values_list("category_source", flat=True))),
            }
            if not a.keep:
                raise Rollback
    except Rollback:
        pass
    b, elapsed = result["batch"], result["elapsed"]
    print(
        f"import: {b.rows:,} rows → {b.created:,} clues (+{b.merged:,} merged into existing cases),"
        f" {len(b.errors)} rows refused, {b.skipped} already imported"
    )
    print(
        f"matched to the registry {result['matched']:,}; possible unlicensed operators {result['unlicensed']:,};"
        f" routed {result['routed']:,}; reports kept {result['reports']:,}; category by {result['by_source']}"
    )
    phases = {**getattr(b, "timings", {}), "deferred_fk_checks": result["fk"]}
    print("phases (s): " + ", ".join(f"{k} {v:.2f}" for k, v in phases.items()))
    print(
        f"time {elapsed:.2f} s ({b.rows / elapsed:,.0f} rows/s; this process's CPU {result['cpu']:.2f} s,"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs); peak RSS {_peak_rss_mb():.0f} MB (before import {rss_before:.0f} MB)"
    )
    print(f"goal ≤ 10 s: {'met' if elapsed <= 10 else 'NOT met'}{'' if a.keep else ' (rolled back)'}")
    print(f"RESULT clue-import {elapsed:.2f} s ratio={elapsed / ref:.2f} ref=openpyxl-read:{ref:.2f}s")
    return 0


def Counter_(it):
    from collections import Counter

    return Counter(it)
