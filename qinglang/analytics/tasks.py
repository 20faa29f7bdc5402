"""Periodic jobs of the analytics app (Huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from qinglang.core.context import request_context


@db_periodic_task(crontab(minute="15"))
def indicators_refresh():
    """Hourly: the roll-ups of the days touched since the last run (catching up any
    downtime) and today's snapshot."""
    from .refresh import refresh

    with request_context():
        return refresh()
