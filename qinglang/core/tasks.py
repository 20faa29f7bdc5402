"""Periodic jobs of core (Huey)."""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

log = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="5"))
def audit_checkpoint_hourly():
    """Hourly: a signed checkpoint of the audit chain's head, written outside the database.
    A head older than the last checkpoint is not signed over it (the highest checkpoint
    stays the one ``audit verify`` holds the chain to) and is logged as an error."""
    from .audit import CheckpointError, latest_checkpoint, read_head, write_checkpoint

    try:
        last = latest_checkpoint()
    except CheckpointError as exc:
        log.error("audit checkpoint: %s", exc)
        return {"written": None, "error": str(exc)}
    seq = read_head()[0]
    if last is not None and seq < last.seq:
        log.error("audit head #%s is older than the signed checkpoint #%s", seq, last.seq)
        return {"written": None, "error": f"head #{seq} < checkpoint #{last.seq}"}
    return {"written": write_checkpoint().seq}


@db_task()
def run_job(job_id: str):
    """A background job (``core.jobs``): imports, draws and exports of many rows."""
    from .context import request_context
    from .jobs import job_run

    with request_context():
        job = job_run(job_id)
        return job.status if job else None
