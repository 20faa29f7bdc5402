"""Every write of the risk app: manual signals, what follows a level change (alerts for the
competent department, guardians ended), alert handling and escalation, guardians and
their check-ins, and the runaway plan. Each checks who may act inside its transaction
and leaves an audit event; notifications go through ``accounts.notifications.notify``.

Re-exported by sub-domain: ``reports`` (manual signals), ``levels`` (what follows a level
change), ``alerts``, ``guardians``, ``runaway``; ``common`` holds what they share."""

from .alerts import alert_act, alert_close, alerts_escalate_overdue
from .common import MAX_TEXT, People, is_task_force, may_handle
from .guardians import checkin_record, guardian_assign, guardians_escalate_missed
from .levels import ALERT_INSERT, ALERT_RAISE, GUARDIAN_END, LEVEL_INDEX, level_changes_follow
from .reports import report_create
from .runaway import runaway_mark

__all__ = [
    "ALERT_INSERT",
    "ALERT_RAISE",
    "GUARDIAN_END",
    "LEVEL_INDEX",
    "MAX_TEXT",
    "People",
    "alert_act",
    "alert_close",
    "alerts_escalate_overdue",
    "checkin_record",
    "guardian_assign",
    "guardians_escalate_missed",
    "is_task_force",
    "level_changes_follow",
    "may_handle",
    "report_create",
    "runaway_mark",
]
