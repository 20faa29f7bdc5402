"""Every write of the screening app, and the classify calls the API serves.

Writes to the apps below go through their services only: leads and cases through
``clues.services`` (so intake, dedupe, routing and time limits are the clues app's), the
registry only through its hooks (``hooks.py``).

Re-exported by sub-domain: ``texts`` (the classify API), ``holds``, ``patrol`` (online
patrol and takedowns), ``sweeps`` (key-place sweeps); ``common`` holds what they share."""

from .common import (
    HOLD_CONFIDENCE,
    MAX_TEXT_CHARS,
    MAX_TEXTS,
    PATROL_HIT_CONFIDENCE,
    PATROL_ROLES,
    REVIEW_ROLES,
    VISIT_ROLES,
)
from .holds import business_scope_screen, hold_review, material_file_screen, text_screen
from .patrol import PATROL_COLUMNS, patrol_import, patrol_record, takedown_answer, takedown_request
from .sweeps import (
    PLACE_COLUMNS,
    sweep_create,
    sweep_finding_close,
    sweep_place_add,
    sweep_places_import,
    sweep_visit_record,
)
from .texts import RESULT_HEADERS, ResultFile, texts_check, texts_classify, texts_classify_file

__all__ = [
    "HOLD_CONFIDENCE",
    "MAX_TEXTS",
    "MAX_TEXT_CHARS",
    "PATROL_COLUMNS",
    "PATROL_HIT_CONFIDENCE",
    "PATROL_ROLES",
    "PLACE_COLUMNS",
    "RESULT_HEADERS",
    "REVIEW_ROLES",
    "VISIT_ROLES",
    "ResultFile",
    "business_scope_screen",
    "hold_review",
    "material_file_screen",
    "patrol_import",
    "patrol_record",
    "sweep_create",
    "sweep_finding_close",
    "sweep_place_add",
    "sweep_places_import",
    "sweep_visit_record",
    "takedown_answer",
    "takedown_request",
    "text_screen",
    "texts_check",
    "texts_classify",
    "texts_classify_file",
]
