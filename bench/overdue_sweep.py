"""``qinglang bench overdue-sweep``: the rectification overdue sweep over N rectification items
(default 1,000,000) on PostgreSQL, against a plain SQL count of the overdue items in the
same run. Items are generated set-based (generate_series) under one scratch notice and
removed afterwards. Goal: sweep ≤ 60 s."""

import argparse
import time
from datetime import timedelta

NEEDS_POSTGRES = True  # generate_series; `qinglang bench` gives it a scratch database


def _refuse_test_db() -> None:
    from django.conf import settings
    from django.db import connection

    name = settings.DATABASES["default"]["NAME"]
    if connection.vendor != "postgresql":
        raise SystemExit(
            "overdue-sweep runs on PostgreSQL: set QINGLANG_DATABASE_URL (e.g. …/qinglang_bench)"
        )
    if name in ("test", "test_test"):
        raise SystemExit("refusing to write benchmark data into the test database")


def generate(n: int):
    """N rectification items under one scratch task and notice, set-based (generate_series):
    deadlines spread over the last 60 and next 30 days; 60 % issued, 10 % returned,
    15 % submitted, 15 % closed out. Returns (task, notice)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from qinglang.inspections.models import Notice, RectificationItem, Task
    from qinglang.registry.models import Institution

    today = timezone.localdate()
    inst = Institution.objects.order_by("id").first()
    if inst is None:
        from bench._common import ensure_data

        ensure_data("district")
        inst = Institution.objects.order_by("id").first()
    with transaction.atomic():
        task = Task.objects.create(
            institution=inst,
            division_code=inst.division_code,
            scheduled_on=today,
            due_on=today,
            origin="adhoc",
            reason="bench",
        )
        notice = Notice.objects.create(
            number=f"BENCH-{task.pk}",
            task=task,
            institution=inst,
            division_code=inst.division_code,
            issued_on=today - timedelta(days=90),
            deadline_days=10,
            deadline_on=today,
        )
        with connection.cursor() as cur:
            # deadlines spread over the last 60 and next 30 days; 60 % issued, 10 % returned,
            # 15 % submitted, 15 % closed out; divisions of the seeded institutions' counties
            cur.execute(
                f"""
                INSERT INTO {RectificationItem._meta.db_table}
                  (notice_id, institution_id, division_code, department_kind, title, basis, requirement,
                   contact_name, contact_phone, measures, deadline_on, status, escalation, updated_at)
                SELECT %s, %s, %s, 'education', 'bench item', '', '', '', '', '',
                       %s::date - ((g::bigint * 7919) %% 90 - 30)::int,
                       CASE WHEN g %% 20 < 12 THEN 'issued' WHEN g %% 20 < 14 THEN 'returned'
                            WHEN g %% 20 < 17 THEN 'submitted' ELSE 'closed_out' END,
                       0, now()
                FROM generate_series(1, %s) AS g
                """,
                [notice.pk, inst.pk, inst.division_code, today, n],
            )
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {RectificationItem._meta.db_table}")
    return task, notice


def cleanup(task, notice, today) -> None:
    """Remove the generated rows set-based (the ORM's delete would load them all)."""
    from django.db import connection, transaction

    from qinglang.inspections.models import Letter, Notice, RectificationItem, SweepRun, Task

    items, letters = RectificationItem._meta.db_table, Letter._meta.db_table
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"DELETE FROM {letters} WHERE item_id IN (SELECT id FROM {items} WHERE notice_id = %s)",
            [notice.pk],
        )
        cur.execute(f"DELETE FROM {items} WHERE notice_id = %s", [notice.pk])
        Notice.objects.filter(pk=notice.pk).delete()
        Task.objects.filter(pk=task.pk).delete()
        SweepRun.objects.filter(ran_on=today).delete()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="qinglang bench overdue-sweep")
    p.add_argument("--items", type=int, default=1_000_000)
    p.add_argument("--keep", action="store_true", help="keep the generated items")
    a = p.parse_args(argv)
    _refuse_test_db()
    from django.db import connection
    from django.utils import timezone

    from bench._common import db_label
    from qinglang.accounts.permissions import system
    from qinglang.inspections.models import RectificationItem
    from qinglang.inspections.services import rectification_sweep_overdue

    today = timezone.localdate()
    print(f"database {db_label()}; generating {a.items:,} rectification items …", flush=True)
    t0 = time.monotonic()
    task, notice = generate(a.items)
    print(f"generated in {time.monotonic() - t0:.1f} s", flush=True)
    try:
        with connection.cursor() as cur:
            t0 = time.monotonic()
            cur.execute(
                f"SELECT count(*) FROM {RectificationItem._meta.db_table} WHERE status IN ('issued','returned') AND deadline_on < %s",
                [today],
            )
            overdue = cur.fetchone()[0]
            count_s = time.monotonic() - t0
        print(f"plain SQL count of overdue items: {overdue:,} in {count_s * 1000:.0f} ms", flush=True)
        t0 = time.monotonic()
        run = rectification_sweep_overdue(today=today, actor=system("bench"))
        sweep_s = time.monotonic() - t0
        print(
            f"sweep: {run.reminders:,} reminder letters, {run.supervisions:,} supervision letters,"
            f" {run.cases_due:,} items due for a case in {sweep_s:.2f} s",
            flush=True,
        )
        t0 = time.monotonic()
        again = rectification_sweep_overdue(today=today, actor=system("bench"))
        print(
            f"second run (nothing to do): {again.reminders + again.supervisions + again.cases_due} changes in {time.monotonic() - t0:.2f} s"
        )
        goal = "met" if sweep_s <= 60 else "NOT met"
        print(f"goal ≤ 60 s: {goal}")
        ratio = sweep_s / count_s if count_s else 0.0
        print(
            f"RESULT overdue-sweep {sweep_s:.2f} s ratio={ratio:.1f} ref=sql-count:{count_s * 1000:.0f}ms/{overdue}overdue/{a.items}items"
        )
    finally:
        if not a.keep:
            cleanup(task, notice, today)
    return 0
