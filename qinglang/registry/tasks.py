"""Periodic jobs of the registry (Huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from qinglang.core.context import request_context

from .services import whitelist_sweep_expired


@db_periodic_task(crontab(minute="15", hour="0"))
def sweep_expired_licences():
    """Every night: an expired licence takes an institution off the whitelist. Works from
    the current state, so a missed night is caught up by the next run."""
    with request_context():
        return whitelist_sweep_expired()
