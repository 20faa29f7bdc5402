"""Pages of the clues app (included by portal/urls.py, same namespace)."""

from django.urls import path

from .views import clues

urlpatterns: list = [
    # public site
    path("clues/report/", clues.clue_report, name="clue_report"),
    path("clues/report/done/", clues.clue_report_done, name="clue_report_done"),
    path("clues/track/", clues.clue_track, name="clue_track"),
    # parent end, grid worker
    path("parent/clues/", clues.parent_clues, name="parent_clues"),
    path("grid/report/", clues.grid_report, name="grid_report"),
    # regulator console
    path("console/clues/", clues.clue_list, name="clue_list"),
    path("console/clues/new/", clues.clue_lead_new, name="clue_lead_new"),
    path("console/clues/import/", clues.clue_import, name="clue_import"),
    path("console/clues/import/template/", clues.clue_import_template, name="clue_import_template"),
    path("console/clues/trends/", clues.clue_trends, name="clue_trends"),
    path("console/clues/retriage/", clues.clue_retriage, name="clue_retriage"),
    path("console/clues/retriage/<int:run_id>/", clues.clue_retriage_run, name="clue_retriage_run"),
    path("console/clues/<int:clue_id>/", clues.clue_detail, name="clue_detail"),
    path("console/whistles/", clues.whistle_board, name="whistle_board"),
    path("console/whistles/<int:whistle_id>/report/", clues.whistle_report, name="whistle_report"),
]
