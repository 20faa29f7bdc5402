"""Every write of the clues app (re-exported by sub-domain)."""

from .handling import (
    clue_accept,
    clue_conclude,
    clue_feedback,
    clue_investigate,
    clue_reclassify,
    clue_reopen,
    clue_reporters_reveal,
    clue_return,
    clue_route,
    clue_satisfaction,
    clue_transfer,
)
from .hotline import COLUMNS as HOTLINE_COLUMNS
from .hotline import clue_import_hotline
from .intake import Submission, clue_lead_create, clue_report_submit, rate_limit, read_photos
from .oversight import (
    clue_escalate_overdue,
    clue_trends_refresh,
    whistle_notify_late,
    whistle_raise,
    whistle_report,
)

__all__ = [
    "HOTLINE_COLUMNS",
    "Submission",
    "clue_accept",
    "clue_conclude",
    "clue_escalate_overdue",
    "clue_feedback",
    "clue_import_hotline",
    "clue_investigate",
    "clue_lead_create",
    "clue_reclassify",
    "clue_reopen",
    "clue_report_submit",
    "clue_reporters_reveal",
    "clue_return",
    "clue_route",
    "clue_satisfaction",
    "clue_transfer",
    "clue_trends_refresh",
    "rate_limit",
    "read_photos",
    "whistle_notify_late",
    "whistle_raise",
    "whistle_report",
]
