"""The national world the PostgreSQL benchmarks share, built set-based: ``prepare()``
seeds ``seed-demo --scale SCALE`` into the configured scratch database (or copies a
database that already holds it, ``template``) and ``generate()`` adds, in SQL
(INSERT … SELECT), the institutions' funds and clues: a course and a custody account per
institution, ~1,000,000 paid orders over 150 days with a payment posting each, refunds,
200,000 clues over 60 days, 5,000 large-movement signals. Used by ``risk-score`` and
``indicators-refresh`` (which tops it up: bench/_indicators_world.py)."""

import json
import os
import subprocess
import sys
import time

from bench._common import REPO

NATIONAL = 500_000
SCALES = {"national": NATIONAL, "province": 50_000}  # --scale: what the scratch database must hold


def cols(model, given: dict[str, str]) -> tuple[str, str]:
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


def insert(cur, model, given: dict[str, str], source: str, params=None) -> int:
    names, exprs = cols(model, given)
    t = time.perf_counter()
    cur.execute(f"INSERT INTO {model._meta.db_table} ({names}) SELECT {exprs} {source}", params)
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
        print("generating funds and clues for the seeded demo (INSERT … SELECT):", flush=True)
        insert(
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
        insert(
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
        insert(
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
        insert(
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
        insert(
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
        insert(
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
        insert(
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


def _copy_of(template: str, name: str, server: str, want: int) -> bool:
    """Recreate the database ``name`` as a copy of ``template`` (``CREATE DATABASE …
    TEMPLATE``, a file copy: a minute instead of the seeding's twenty) when the template
    holds the generated world of ``want`` institutions and nobody is connected to it.
    Returns whether it did; otherwise ``name`` is left as it was."""
    import psycopg

    try:
        with psycopg.connect(f"{server}/{template}", connect_timeout=5) as conn:
            n = conn.execute("SELECT count(*) FROM registry_institution").fetchone()[0]
            ready = conn.execute("SELECT EXISTS (SELECT 1 FROM funds_order)").fetchone()[0]
    except psycopg.Error:
        return False
    if n != want or not ready:
        return False
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        for _ in range(10):  # the look-up's own backend takes a moment to go
            busy = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [template])
            busy = busy.fetchone()[0]
            if not busy:
                break
            time.sleep(0.5)
        if busy:
            print(f"{template} is in use ({busy} connections): not copying it", flush=True)
            return False
        t = time.monotonic()
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        try:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        except psycopg.errors.ObjectInUse:  # someone connected meanwhile
            print(f"{template} came into use: not copying it", flush=True)
            conn.execute(f'CREATE DATABASE "{name}"')
            return False
    print(f"copied {template} ({n:,} institutions) into {name} in {time.monotonic() - t:.0f} s", flush=True)
    return True


def prepare(fresh: bool = False, scale: str = "national", template: str | None = None) -> int:
    """Make the scratch database hold the demo of ``scale`` with its funds and clues: reused
    when it already holds that scale, rebuilt when ``fresh``, when it holds another scale
    or (given a ``template``) none: copied from ``template`` when that holds the world,
    else dropped, created, migrated and seeded. Returns the number of institutions."""
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("this benchmark runs on PostgreSQL: set QINGLANG_DATABASE_URL or QINGLANG_BENCH_PG")
    import psycopg

    env = {**os.environ, "QINGLANG_DEMO": "true", "QINGLANG_TESTING": "false"}
    ql = os.path.join(os.path.dirname(sys.executable), "qinglang")
    name = settings.DATABASES["default"]["NAME"]
    server = os.environ["QINGLANG_DATABASE_URL"].partition("?")[0].rsplit("/", 1)[0]
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM registry_institution")
        n = cur.fetchone()[0]
    want = SCALES[scale]
    template = template if template != name else None
    if fresh or n not in (0, want) or (n == 0 and template):
        connection.close()
        if template and _copy_of(template, name, server, want):
            n = want
        else:
            print(
                f"scratch database {name} holds {n:,} institutions, not {want:,}: rebuilding it", flush=True
            )
            with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
            n = 0
        subprocess.run([ql, "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True)
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
