"""Pages of the risk app (included by portal/urls.py, same namespace)."""

from django.urls import path

from .views import risk as v

urlpatterns: list = [
    path("console/risk/alerts/", v.alert_list, name="risk_alerts"),
    path("console/risk/alerts/<int:alert_id>/", v.alert_detail, name="risk_alert"),
    path("console/risk/institutions/<int:pk>/", v.institution_risk, name="risk_institution"),
    path("console/risk/board/", v.board, name="risk_board"),
    path("console/risk/board/export/", v.board_export, name="risk_board_export"),
    path("console/risk/board/print/", v.board_print, name="risk_board_print"),
    path("console/risk/runaway/<int:plan_id>/", v.runaway_plan, name="risk_runaway"),
    path("risk/guardian/", v.my_guardianships, name="risk_guardianships"),
    path("risk/guardian/<int:guardian_id>/", v.checkin, name="risk_checkin"),
]
