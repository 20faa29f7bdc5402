"""The deemed-confirm job killed with SIGKILL in the middle of a batch, then run again,
ends exactly where one clean run ends: the same balances, the same postings (by key,
code, amount and the pending release each settles), the same lesson and order states
and transition rows, and ``ledger verify`` holding.

One world is prepared in a scratch database (a file on SQLite, a database on
PostgreSQL) and copied; the job runs cleanly on the copy, and on the original is killed
inside its third chunk's transaction (after two chunks committed, with the third's
postings and lesson updates written but not committed), then rerun."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from django.db import connection

from qinglang import testdb

REPO = Path(__file__).resolve().parents[3]
LESSONS = 1200
CHUNK = 300
SCRIPT = r"""
import json, os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglang.config.settings")
import django; django.setup()
from datetime import timedelta
from django.core.management import call_command
from django.utils import timezone
mode = sys.argv[1]
FAR = timezone.localdate() + timedelta(days=90)
if mode == "setup":
    call_command("migrate", verbosity=0)
    from qinglang.funds import services
    from qinglang.funds.testing import funds_world, paid_order
    w = funds_world(unit_price_fen=700)
    orders = [paid_order(w, lessons=40) for _ in range(40)]
    n = int(sys.argv[2])
    rows = [{"event_id": f"e{i}", "order_id": orders[i % len(orders)].pk} for i in range(n)]
    out = services.lesson_batch_import(actor=w.org_user, institution_id=w.institution.pk, rows=rows)
    print(json.dumps(out.counts))
elif mode == "deem":
    from qinglang.funds.models import LESSON_STATES
    from qinglang.funds import services
    kill_at = int(sys.argv[3])
    calls = [0]
    record_many = LESSON_STATES.record_many
    def record_then_stop(*a, **kw):
        n = record_many(*a, **kw)
        calls[0] += 1
        if calls[0] == kill_at:  # inside the chunk's transaction, its writes not committed
            print("MID", flush=True)
            time.sleep(120)
        return n
    LESSON_STATES.record_many = record_then_stop
    print(services.lessons_deem_confirmed(today=FAR, chunk=int(sys.argv[2])), flush=True)
elif mode == "snapshot":
    from qinglang.funds.models import LedgerAccount, Lesson, LessonTransition, Order, Posting
    from qinglang.funds.verify import ledger_verify
    keys = dict(Posting.objects.values_list("id", "idempotency_key"))
    r = ledger_verify()
    print(json.dumps({
        "balances": sorted(LedgerAccount.objects.values_list("id", "kind", "balance_fen")),
        "postings": sorted(
            (k, c, a, keys.get(rev))
            for k, c, a, rev in Posting.objects.values_list("idempotency_key", "code", "amount_fen", "reverses_id")
        ),
        "lessons": sorted(
            (i, s, keys.get(p)) for i, s, p in Lesson.objects.values_list("id", "status", "settled_posting_id")
        ),
        "orders": sorted(Order.objects.values_list("id", "status", "pending_fen", "released_fen")),
        "moves": sorted(LessonTransition.objects.values_list("lesson_id", "from_status", "to_status")),
        "ok": r.ok,
        "problems": r.problems,
    }))
"""


class Scratch:
    """Two scratch databases of the vendor under test: ``a`` (prepared) and ``b`` (a copy)."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.pg = connection.vendor == "postgresql"
        s = connection.settings_dict
        # named after this run's test database, so parallel runs (and workers) do not share them
        self.names = {k: f"{s['NAME']}_kill_{k}" for k in "ab"}
        if self.pg:
            self.server = f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST']}:{s['PORT'] or 5432}"

    def env(self, which: str) -> dict:
        env = {**os.environ, "QINGLANG_TESTING": "true"}
        if self.pg:
            env["QINGLANG_DATABASE_URL"] = f"{self.server}/{self.names[which]}"
        else:
            env.pop("QINGLANG_DATABASE_URL", None)
            env["QINGLANG_SQLITE_PATH"] = str(self.tmp / f"{which}.sqlite3")
        return env

    def _admin(self, *sql):
        import psycopg

        with psycopg.connect(f"{self.server}/postgres", autocommit=True) as c:
            for q in sql:
                c.execute(q)

    def create(self):
        """The prepared database starts as a copy of the test databases' template when
        there is one (qinglang/testdb.py): its ``migrate`` then has nothing to apply."""
        if not self.pg:
            testdb.copy_sqlite_template(connection, self.tmp / "a.sqlite3")
            return
        import psycopg

        self._admin(*(f"DROP DATABASE IF EXISTS {n}" for n in self.names.values()))
        template = testdb.postgresql_template_name(testdb.current_key(connection))
        with psycopg.connect(f"{self.server}/postgres", autocommit=True) as c:
            c.execute("SELECT pg_advisory_lock(%s)", [testdb.lock_id(template)])
            found = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone()
            c.execute(f"CREATE DATABASE {self.names['a']}" + (f' TEMPLATE "{template}"' if found else ""))
            c.execute("SELECT pg_advisory_unlock(%s)", [testdb.lock_id(template)])

    def copy(self):
        if self.pg:
            self._admin(f"CREATE DATABASE {self.names['b']} TEMPLATE {self.names['a']}")
        else:  # the preparing process has exited: its WAL is checkpointed into the file
            shutil.copy(self.tmp / "a.sqlite3", self.tmp / "b.sqlite3")

    def drop(self):
        if self.pg:
            self._admin(*(f"DROP DATABASE IF EXISTS {n}" for n in self.names.values()))


def _run(script, scratch, which, *args, timeout=600):
    out = subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        cwd=REPO,
        env=scratch.env(which),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


def test_deem_job_killed_mid_batch_then_rerun_equals_one_clean_run(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    scratch = Scratch(tmp_path)
    scratch.create()
    try:
        assert json.loads(_run(script, scratch, "a", "setup", LESSONS))["accepted"] == LESSONS
        scratch.copy()
        # one clean run on the copy
        assert int(_run(script, scratch, "b", "deem", CHUNK, 0)) == LESSONS
        clean = json.loads(_run(script, scratch, "b", "snapshot"))
        # on the original: killed inside the third chunk, then rerun
        p = subprocess.Popen(
            [sys.executable, str(script), "deem", str(CHUNK), "3"],
            cwd=REPO,
            env=scratch.env("a"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = p.stdout.readline()
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
        assert line.strip() == "MID", p.stderr.read()[-3000:]
        half = json.loads(_run(script, scratch, "a", "snapshot"))
        deemed = sum(1 for _, s, _ in half["lessons"] if s == "deemed_confirmed")
        assert deemed == 2 * CHUNK  # two chunks committed, the third rolled back whole
        assert half["ok"], half["problems"]
        rest = int(_run(script, scratch, "a", "deem", CHUNK, 0))
        assert rest == LESSONS - 2 * CHUNK
        killed = json.loads(_run(script, scratch, "a", "snapshot"))
    finally:
        scratch.drop()
    assert clean["ok"], clean["problems"]
    assert killed["ok"], killed["problems"]
    for part in ("balances", "postings", "lessons", "orders", "moves"):
        assert killed[part] == clean[part], part
    assert sum(1 for _, s, _ in clean["lessons"] if s == "deemed_confirmed") == LESSONS
