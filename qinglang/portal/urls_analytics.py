"""Pages of the analytics app (included by portal/urls.py, same namespace)."""

from django.urls import path

from .views import analytics as v
from .views import work_ledger as w

urlpatterns: list = [
    path("console/analytics/", v.dashboard, name="analytics_dashboard"),
    path("console/analytics/value/", v.drill, name="analytics_drill"),
    path("console/analytics/export/figures.xlsx", v.figures_export, name="analytics_figures_xlsx"),
    path("console/analytics/ranking/", v.ranking, name="analytics_ranking"),
    path("console/analytics/ranking/issue/", v.ranking_issue, name="analytics_ranking_issue"),
    path("console/analytics/notices/", v.notice_list, name="analytics_notices"),
    path("console/analytics/notices/<int:ranking_notice_id>/", v.notice_detail, name="analytics_notice"),
    path(
        "console/analytics/notices/<int:ranking_notice_id>/docx/", v.notice_docx, name="analytics_notice_docx"
    ),
    path("console/analytics/daily/", v.daily_county, name="analytics_daily"),
    path("console/analytics/daily/submit/", v.daily_submit, name="analytics_daily_submit"),
    path("console/analytics/daily/export.docx", v.daily_export, {"fmt": "docx"}, name="analytics_daily_docx"),
    path("console/analytics/daily/export.xlsx", v.daily_export, {"fmt": "xlsx"}, name="analytics_daily_xlsx"),
    path("console/analytics/dispatch/", v.dispatch_issue, name="analytics_dispatch_issue"),
    path("console/analytics/dispatch/<int:dispatch_id>/", v.dispatch_detail, name="analytics_dispatch"),
    path("console/analytics/reminders/", v.reminder_list, name="analytics_reminders"),
    path("console/analytics/reminders/<int:reminder_id>/", v.reminder_detail, name="analytics_reminder"),
    path("console/analytics/problems/", w.problem_list, name="analytics_problems"),
    path("console/analytics/problems/template.xlsx", w.problem_template, name="analytics_problem_template"),
    path("console/analytics/problems/export.xlsx", w.problem_export, name="analytics_problems_xlsx"),
    path("console/analytics/problems/<int:problem_id>/", w.problem_detail, name="analytics_problem"),
    path(
        "console/analytics/problems/<int:problem_id>/evidence/<int:problem_evidence_id>/",
        w.problem_evidence,
        name="analytics_problem_evidence",
    ),
    path("console/analytics/ledger/", w.work_ledger, name="analytics_work_ledger"),
    path("console/analytics/ledger/export.xlsx", w.work_ledger_export, name="analytics_work_ledger_xlsx"),
    path("console/analytics/ledger/<int:work_task_id>/", w.work_task_detail, name="analytics_work_task"),
]
