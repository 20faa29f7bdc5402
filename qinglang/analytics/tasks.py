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


@db_periodic_task(crontab(minute="40"))
def weekly_ranking_notices():
    """每周一通报: from Monday 08:00, each county's notice of last week; run hourly so a
    downtime over Monday morning is caught up at the next run (a week is never issued
    twice)."""
    from .notices import weekly_notices

    with request_context():
        return weekly_notices()


@db_periodic_task(crontab(hour="8", minute="20"))
def work_overdue_sweep():
    """Daily: overdue supervision problems and work-ledger tasks are reminded to their
    department once, and escalated to the task force's leaders once when long overdue."""
    from qinglang.accounts.permissions import system

    from .ledger import overdue_sweep

    with request_context():
        return overdue_sweep(actor=system("work-overdue"))
