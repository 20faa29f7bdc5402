"""Periodic jobs of the clues app. Each works from current state, so missed runs catch up."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from .services import clue_escalate_overdue, clue_trends_refresh, whistle_notify_late


@db_periodic_task(crontab(minute="5"))
def escalate_overdue_clues():
    """Escalations notify the department leaders / the task force; late whistle
    departments get their notice. Both send each notice once, however many runs."""
    return {**clue_escalate_overdue(), "whistles_late": whistle_notify_late()}


@db_periodic_task(crontab(minute="30", hour="1"))
def refresh_clue_trends():
    from datetime import timedelta

    from django.utils import timezone

    clue_trends_refresh(week=timezone.localdate() - timedelta(days=7))  # finish last week
    return clue_trends_refresh()


@db_task()
def retriage(run_id: int):
    """Re-triage of a large area (``services.retriage_start`` enqueues it on commit):
    computes the run's proposals; nothing is applied until a regulator confirms."""
    from .services.cases import retriage_run_job

    retriage_run_job(run_id)
    return {"run": run_id}
