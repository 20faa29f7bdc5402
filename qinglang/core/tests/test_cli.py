"""The newcomer's tools (#10 part 3): ``qinglang help`` lists Qinglang's commands and every
Django management command by app; ``qinglang bench`` names its benchmarks, refuses an
unknown one, and points each run at its own scratch database — never the configured one."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def _run(*argv, env=None, timeout=300):
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("QINGLANG_") and k != "DJANGO_SETTINGS_MODULE"
    }
    return subprocess.run(
        [sys.executable, "-m", "qinglang.cli", *argv],
        cwd=REPO,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_lists_qinglangs_and_djangos_commands_and_the_benchmarks():
    r = _run("help")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for line in ("qinglang setup --county CODE", "qinglang bench NAME", "qinglang backup DIR"):
        assert line in out
    sections = {s.strip() for s in out.splitlines() if s.strip().startswith("[")}
    assert {"[qinglang.accounts]", "[qinglang.portal]", "[auth]", "[core]"} <= sections
    words = set(out.split())
    # Django's own commands are there, as are the project's and the benchmarks
    assert {"migrate", "createsuperuser", "changepassword", "setup", "seed_demo", "audit_verify"} <= words
    assert {"overdue-sweep", "disguise-quality", "clue-import"} <= words


def test_help_of_one_command_prints_its_options():
    r = _run("help", "setup")
    assert r.returncode == 0, r.stderr
    assert "--county" in r.stdout and "--divisions" in r.stdout


def test_bench_names_its_benchmarks_and_refuses_an_unknown_one():
    r = _run("bench", "--help")
    assert r.returncode == 0 and "overdue-sweep" in r.stdout
    r = _run("bench", "no-such-bench")
    assert r.returncode == 2 and "unknown benchmark: no-such-bench" in r.stdout
    assert "disguise-throughput" in r.stdout


_PROBE = (
    "import os, sys; sys.path.insert(0, '.');"
    "from bench._common import use_scratch_database as u;"
    "print(u(sys.argv[1])); print(os.environ.get('QINGLANG_DATABASE_URL', ''));"
    "print(os.environ.get('QINGLANG_SQLITE_PATH', ''))"
)


def _probe(name, env):
    base = {k: v for k, v in os.environ.items() if not k.startswith("QINGLANG_")}
    r = subprocess.run(
        [sys.executable, "-c", _PROBE, name], cwd=REPO, env={**base, **env}, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_a_benchmark_on_sqlite_gets_its_own_file(tmp_path):
    label, url, path = _probe("overdue_sweep", {"QINGLANG_DATA_DIR": str(tmp_path)})
    assert label == f"sqlite:{tmp_path}/bench/overdue_sweep.sqlite3" and path == label[7:]
    assert url == "" and (tmp_path / "bench").is_dir()


def _server():
    psycopg = pytest.importorskip("psycopg")
    server = os.environ.get("QINGLANG_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    try:
        psycopg.connect(f"{server}/postgres", connect_timeout=3).close()
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL server to make scratch databases on")
    return psycopg, server


def test_a_benchmark_pointed_at_a_postgresql_server_creates_then_reuses_its_scratch_database(tmp_path):
    psycopg, server = _server()
    bench = f"cli_probe_{uuid.uuid4().hex[:8]}"
    name = f"qinglang_bench_{bench}"
    configured = {"QINGLANG_DATABASE_URL": f"{server}/test?connect_timeout=5"}
    try:
        created, label, url, _ = _probe(bench, configured)
        assert created == f"creating scratch database {name}"
        assert label == f"postgresql:{name}" and url == f"{server}/{name}?connect_timeout=5"
        again = _probe(bench, configured)  # reused, not refused
        assert again[:2] == [label, url]
        # with no server configured the same benchmark runs on a file of its own
        assert (
            _probe(bench, {"QINGLANG_DATA_DIR": str(tmp_path)})[0]
            == f"sqlite:{tmp_path}/bench/{bench}.sqlite3"
        )
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
