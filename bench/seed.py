"""``qinglang bench seed --scale province``: wall time and peak memory of seeding a scale
into a fresh scratch database (PostgreSQL: ``<database>_seedbench``, dropped and created;
SQLite: a temporary file). The seed runs as a child process; its peak RSS comes from the
kernel's rusage of that child. Reference: the time budget for the scale."""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import REPO, VENV_BIN

OWN_DATABASE = True  # makes and drops its own scratch databases (see qinglang.cli._bench)

# seconds allowed per scale (district: `make run`; national: the 10 minutes)
BUDGET = {"district": 30, "city": 60, "province": 120, "national": 600}


def scratch_env() -> tuple[dict, str, callable]:
    from django.conf import settings
    from django.db import connection

    env = dict(os.environ)
    if connection.vendor == "postgresql":
        db = settings.DATABASES["default"]
        name = f"{db['NAME']}_seedbench"
        url = os.environ["QINGLANG_DATABASE_URL"].rsplit("/", 1)[0] + "/" + name
        with connection.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cur.execute(f'CREATE DATABASE "{name}"')
        env["QINGLANG_DATABASE_URL"] = url

        def cleanup():
            with connection.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}"')

        return env, f"postgresql:{name}", cleanup
    tmp = tempfile.mkdtemp(prefix="qinglang-seedbench-")
    path = str(Path(tmp) / "seed.sqlite3")
    env["QINGLANG_SQLITE_PATH"] = path

    def cleanup_sqlite():
        for f in Path(tmp).iterdir():
            f.unlink()
        os.rmdir(tmp)

    return env, f"sqlite:{path}", cleanup_sqlite


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="qinglang bench seed")
    p.add_argument("--scale", default="district", choices=list(BUDGET))
    p.add_argument("--institutions", type=int, default=None)
    p.add_argument("--keep", action="store_true", help="keep the scratch database")
    a = p.parse_args(argv)
    env, label, cleanup = scratch_env()
    env.setdefault("QINGLANG_DEMO", "true")
    ql = str(VENV_BIN / "qinglang")
    try:
        subprocess.run([ql, "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True)
        cmd = [ql, "seed-demo", "--scale", a.scale]
        if a.institutions:
            cmd += ["--institutions", str(a.institutions)]
        print(f"database {label} (fresh, migrated); machine: {os.cpu_count()} CPUs", flush=True)
        print("$ " + " ".join(cmd[1:]), flush=True)
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=REPO, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            print("seed failed")
            return 1
    finally:
        if not a.keep:
            cleanup()
    peak_mb = usage.ru_maxrss / 1024
    budget = BUDGET[a.scale]
    print(f"seed {a.scale}: {seconds:.1f} s wall, peak RSS {peak_mb:.0f} MB (child process)")
    print(
        f"RESULT seed {seconds:.1f} s ratio={seconds / budget:.2f} ref=budget:{budget}s({a.scale}),peak_rss={peak_mb:.0f}MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
