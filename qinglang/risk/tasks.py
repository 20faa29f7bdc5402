"""Periodic jobs of the risk app (Huey). Each works from current state, so a missed run
is caught up by the next."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from qinglang.core.context import request_context


@db_periodic_task(crontab(hour="2", minute="30"))
def risk_score_daily():
    """Nightly, after the funds and clues jobs: every signal, score and level for today."""
    from django.utils import timezone

    from .scoring import score_day

    with request_context():
        run = score_day(timezone.localdate())
        return {"signals": run.signals, "scored": run.scored, "changes": len(run.changes)}


@db_periodic_task(crontab(minute="45"))
def risk_escalations():
    """Hourly: alerts past their time limit and guardians past their check-in date go to
    the task force (once each)."""
    from .services import alerts_escalate_overdue, guardians_escalate_missed

    with request_context():
        return {"alerts": alerts_escalate_overdue(), "guardians": guardians_escalate_missed()}
