"""Periodic jobs of the enforcement app (Huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from qinglang.core.context import request_context

from .services import escalate_overdue_items


@db_periodic_task(crontab(minute="20"))
def file_cases_for_overdue_rectification():
    """Hourly, after the inspections sweep: one case per institution whose items are due
    for a case. Works from state, so it catches up after downtime."""
    with request_context():
        total = 0
        while True:
            n = escalate_overdue_items(limit=1000)
            total += n
            if n == 0:
                return total
