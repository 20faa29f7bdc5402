"""Pages of the inspections app (included by portal/urls.py, same namespace)."""

from django.urls import path
from django.views.generic import RedirectView

from .views import inspections as v

urlpatterns: list = [
    path("console/inspections/", v.campaign_board, name="campaign_board"),
    path("console/inspections/campaigns/<int:campaign_id>/", v.campaign_detail, name="campaign_detail"),
    path("console/inspections/tasks/", v.task_list, name="inspection_tasks"),
    path("console/inspections/tasks/<int:task_id>/", v.task_detail, name="task_detail"),
    path("console/inspections/checklists/", v.checklist_list, name="checklist_list"),
    path("console/inspections/checklists/<int:template_id>/", v.checklist_detail, name="checklist_detail"),
    path("console/inspections/conflicts/", v.conflicts, name="conflicts"),
    path(
        "console/inspections/conflicts/<int:conflict_id>/withdraw/",
        v.conflict_withdraw,
        name="conflict_withdraw",
    ),
    path("console/inspections/rectifications/", v.rectifications, name="rectifications"),
    # the register's former address (and URL name, which the menu still links to): a
    # permanent redirect to the page above
    path(
        "console/inspections/ledger/",
        RedirectView.as_view(pattern_name="portal:rectifications", permanent=True, query_string=True),
        name="ledger",
    ),
    path(
        "console/inspections/rectifications/<int:item_id>/", v.rectification_item, name="rectification_item"
    ),
    path("inspections/notices/<int:notice_id>/download/", v.notice_download, name="notice_download"),
    path("inspections/notices/<int:notice_id>/print/", v.notice_print, name="notice_print"),
    path("inspections/letters/<int:letter_id>/download/", v.letter_download, name="letter_download"),
    path("inspections/evidence/<int:evidence_id>/download/", v.evidence_download, name="evidence_download"),
    path("org/rectification/", v.org_rectification, name="org_rectification"),
    path("org/rectification/items/<int:item_id>/", v.org_item, name="org_item"),
    path("public/draws/", v.public_draws, name="public_draws"),
    path("public/draws/<int:draw_id>/", v.public_draw, name="public_draw"),
]
