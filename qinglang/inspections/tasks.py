"""Periodic jobs of the inspections app (Huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from qinglang.core.context import request_context

from .services import letters_render_pending, notices_issue_pending, rectification_sweep_overdue


@db_periodic_task(crontab(minute="5"))
def sweep_overdue_rectification():
    """Hourly: escalate overdue rectification items (reminder, supervision letter, case due) and
    render pending letters. It works from current state and is idempotent, so the first
    run after downtime catches up everything that fell due meanwhile."""
    with request_context():
        run = rectification_sweep_overdue()
        rendered = 0
        while True:
            n = letters_render_pending(limit=500)
            rendered += n
            if n < 500:
                break
        return {
            "reminders": run.reminders,
            "supervisions": run.supervisions,
            "cases_due": run.cases_due,
            "letters": rendered,
        }


@db_task()
def issue_pending_notices():
    """Issue the notices of records submitted with ``defer_notice``, in set-based batches
    of 500 (enqueued when such records are committed). Workers running it at the same
    time share the pending records (``SKIP LOCKED``)."""
    with request_context():
        return notices_issue_pending()


@db_periodic_task(crontab(minute="*/10"))
def issue_pending_notices_catch_up():
    """Every ten minutes: whatever a lost enqueue or downtime left pending."""
    with request_context():
        return notices_issue_pending()


@db_periodic_task(crontab(minute="0", hour="8"))
def remind_rectification_deadlines():
    """Daily: institutions hear of open items falling due within three days (once each),
    inspectors of their teams' planned tasks falling due within three days (once a day)."""
    from .reminders import rectification_remind_deadlines, task_remind_deadlines

    with request_context():
        return {"rectification": rectification_remind_deadlines(), "tasks": task_remind_deadlines()}
