"""Every write of the clues app (re-exported by sub-domain)."""

from qinglang.core.files import read_photos

from .cases import (
    clue_merge,
    clue_split,
    duplicate_suggestions,
    retriage_apply,
    retriage_start,
)
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
from .hotline import clue_import_hotline, hotline_template_xlsx
from .intake import Submission, clue_lead_create, clue_report_submit, rate_limit
from .oversight import (
    clue_escalate_overdue,
    clue_trends_refresh,
    may_raise_whistle,
    whistle_notify_late,
    whistle_raise,
    whistle_report,
    whistle_townships,
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
    "clue_merge",
    "clue_reclassify",
    "clue_reopen",
    "clue_report_submit",
    "clue_reporters_reveal",
    "clue_return",
    "clue_route",
    "clue_satisfaction",
    "clue_split",
    "clue_transfer",
    "clue_trends_refresh",
    "duplicate_suggestions",
    "hotline_template_xlsx",
    "may_raise_whistle",
    "rate_limit",
    "read_photos",
    "retriage_apply",
    "retriage_start",
    "whistle_notify_late",
    "whistle_raise",
    "whistle_report",
    "whistle_townships",
]
