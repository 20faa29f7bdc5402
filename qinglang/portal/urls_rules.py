"""Pages of the rules in force (included by portal/urls.py, same namespace)."""

from django.urls import path

from .views import rules as v

urlpatterns: list = [
    path("console/practice-bans/", v.practice_bans, name="practice_bans"),
    path("console/disclosure-gaps/", v.disclosure_gaps, name="disclosure_gaps"),
    path("console/applications/", v.applications, name="applications"),
    path("console/applications/<int:application_id>/", v.application_detail, name="application_detail"),
    path("org/<int:pk>/applications/", v.org_applications, name="org_applications"),
    path("org/<int:pk>/disclosure/", v.org_disclosure, name="org_disclosure"),
    path("org/<int:pk>/courses/<int:course_id>/slots/", v.org_course_slots, name="org_course_slots"),
    path("public/institutions/<int:pk>/board.pdf", v.public_board_pdf, name="public_board_pdf"),
]
