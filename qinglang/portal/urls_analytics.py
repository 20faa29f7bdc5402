"""Pages of the analytics app (included by portal/urls.py, same namespace)."""

from django.urls import path

from .views import analytics as v

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
]
