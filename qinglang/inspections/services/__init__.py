"""Every write of the inspections app (re-exported by sub-domain)."""

from .campaigns import (  # noqa: F401
    CHECKLIST_FIELDS,
    campaign_close,
    campaign_create,
    checklist_item_add,
    checklist_item_remove,
    checklist_item_retire,
    checklist_item_update,
    checklist_template_copy,
    conflict_declare,
    conflict_withdraw,
    inspection_task_create_adhoc,
    population_for,
    task_assign,
    task_cancel,
)
from .draws import annual_share_status, annual_share_text, campaign_draw, draw_publish, draw_verify  # noqa: F401
from .records import inspection_record_submit, notice_render, notices_issue_pending  # noqa: F401
from .rectification import (  # noqa: F401
    letter_render,
    letters_render_pending,
    overdue_cutoff,
    rectification_close_out,
    rectification_items_case_due,
    rectification_mark_case_filed,
    rectification_mark_cases_filed,
    rectification_return,
    rectification_submit,
    rectification_sweep_overdue,
    rectification_verify,
)
