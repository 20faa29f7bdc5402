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
