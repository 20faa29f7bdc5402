"""A job's progress shows while its service's transaction is still open (PostgreSQL: the
record is updated through a connection of its own), and nothing of the work itself does."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

from qinglang.core.jobs import Progress
from qinglang.core.models import Job, JobStatus

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="one writer at a time on SQLite"),
]


def _seen_from_elsewhere(job_id, sql: str = "SELECT done, total FROM core_job WHERE id = %s"):
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cur:
            cur.execute(sql, [job_id])
            return cur.fetchone()
    finally:
        other.close()


def test_progress_inside_a_transaction_is_seen_before_it_commits():
    job = Job.objects.create(kind="x", title="进度", handler="x", owner_id=1, status=JobStatus.RUNNING)
    progress = Progress(job)
    try:
        with transaction.atomic():
            Job.objects.create(kind="y", title="未提交的工作", handler="x", owner_id=1)
            progress(500, 2000)
            assert _seen_from_elsewhere(job.pk) == (500, 2000)
            count = _seen_from_elsewhere(
                job.pk, "SELECT count(*) FROM core_job WHERE kind = 'y' AND %s IS NOT NULL"
            )
            assert count == (0,)  # the work itself is not seen before commit
            transaction.set_rollback(True)
    finally:
        progress.close()
    assert not Job.objects.filter(kind="y").exists()
    job.refresh_from_db()
    assert (job.done, job.total) == (500, 2000)  # not undone with the work


def test_progress_of_a_record_not_yet_committed_stops_instead_of_waiting():
    with transaction.atomic():
        job = Job.objects.create(kind="x", title="同一事务", handler="x", owner_id=1)
        progress = Progress(job)
        progress(1, 10)  # the other connection cannot see the record: reporting stops
        progress(10, 10)  # at once, without waiting for a lock
        progress.close()
        assert Job.objects.get(pk=job.pk).done == 0
