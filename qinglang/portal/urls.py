from django.urls import path

from . import (
    urls_admin,
    urls_analytics,
    urls_clues,
    urls_enforcement,
    urls_funds,
    urls_inbox,
    urls_inspections,
    urls_risk,
    urls_rules,
    urls_screening,
    urls_tokens,
)
from .views import actions, console, org, public

app_name = "portal"

urlpatterns = [
    # public site
    path("", public.public_home, name="public_home"),
    path("public/institutions/<int:pk>/", public.public_institution, name="public_institution"),
    path("public/blacklist/", public.public_blacklist, name="public_blacklist"),
    # regulator console
    path("home/", console.home, name="home"),
    path("console/institutions/", console.institution_list, name="institution_list"),
    path("console/institutions/export/", console.institution_export, name="institution_export"),
    path("console/institutions/new/", console.institution_create, name="institution_create"),
    path("console/institutions/<int:pk>/", console.institution_detail, name="institution_detail"),
    path(
        "console/institutions/<int:pk>/transition/",
        actions.institution_transition,
        name="institution_transition",
    ),
    path(
        "console/institutions/<int:pk>/list/<str:kind>/<str:op>/",
        actions.institution_list_action,
        name="institution_list_action",
    ),
    path("console/institutions/<int:pk>/licence/", actions.licence_set, name="licence_set"),
    path(
        "console/institutions/<int:pk>/courses/<int:course_id>/review/",
        actions.course_review,
        name="course_review",
    ),
    path(
        "console/institutions/<int:pk>/materials/<int:material_id>/review/",
        actions.material_review,
        name="material_review",
    ),
    path("console/lists/white/", actions.list_page, {"kind": "white"}, name="list_white"),
    path("console/lists/black/", actions.list_page, {"kind": "black"}, name="list_black"),
    path("console/policy/", actions.policy_page, name="policy"),
    path("console/import/", console.institution_import, name="institution_import"),
    path("console/import/template/", console.import_template, name="import_template"),
    # institution end
    path("org/", org.org_home, name="org_home"),
    path("org/<int:pk>/", org.org_dashboard, name="org_dashboard"),
    path("org/<int:pk>/profile/", org.org_profile, name="org_profile"),
    path("org/<int:pk>/sites/", org.org_sites, name="org_sites"),
    path("org/<int:pk>/staff/", org.org_staff, name="org_staff"),
    path("org/<int:pk>/courses/", org.org_courses, name="org_courses"),
    path("org/<int:pk>/materials/", org.org_materials, name="org_materials"),
    path(
        "org/<int:pk>/materials/<int:material_id>/resubmit/",
        org.org_material_resubmit,
        name="org_material_resubmit",
    ),
    # parent end
    path("parent/", org.parent_home, name="parent_home"),
    # other apps' pages, each in its own module
    *urls_funds.urlpatterns,
    *urls_inspections.urlpatterns,
    *urls_clues.urlpatterns,
    *urls_screening.urlpatterns,
    *urls_enforcement.urlpatterns,
    *urls_risk.urlpatterns,
    *urls_analytics.urlpatterns,
    *urls_inbox.urlpatterns,
    *urls_tokens.urlpatterns,
    *urls_admin.urlpatterns,
    *urls_rules.urlpatterns,
]
