"""Periodic jobs of the funds app. Each works from current state (everything overdue),
so a run missed during downtime is caught up by the next."""

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from . import services


@db_periodic_task(crontab(minute="*/30"))
def refund_deadline_sweep() -> int:
    """Refunds unanswered within ``refund.institution_response_days`` count as agreed."""
    return services.refunds_deem_agreed()


@db_periodic_task(crontab(minute="20", hour="0"))
def lesson_confirm_sweep() -> int:
    """Lessons unanswered within ``lesson.parent_confirm_days`` count as confirmed."""
    return services.lessons_deem_confirmed()


@db_periodic_task(crontab(minute="0", hour="17"))
def daily_instructions() -> int:
    """The day's release and refund instructions for every bank."""
    return services.instructions_generate(day=timezone.localdate())


@db_periodic_task(crontab(minute="30", hour="1"))
def obligation_signals() -> int:
    return services.obligation_signals_sweep()


@db_periodic_task(crontab(minute="*/10"))
def receipts_sweep() -> int:
    """Receipts for payments, posted lessons and refunds that have none yet."""
    return services.receipts_issue_due()


@db_periodic_task(crontab(minute="10", hour="8"))
def daily_reminders() -> int:
    """Daily: parents with lessons to confirm, institutions with refunds to answer soon."""
    from .reminders import funds_send_reminders

    return funds_send_reminders()
