"""Periodic jobs of the inspections app (Huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from qinglang.core.context import request_context

from .services import ledger_sweep_overdue, letters_render_pending


@db_periodic_task(crontab(minute="5"))
def sweep_overdue_rectification():
    """Hourly: escalate overdue ledger items (reminder, supervision letter, case due) and
    render pending letters. It works from current state and is idempotent, so the first
    run after downtime catches up everything that fell due meanwhile."""
    with request_context():
        run = ledger_sweep_overdue()
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
