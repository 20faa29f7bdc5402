"""Administration pages (included by portal/urls.py, same namespace)."""

from django.urls import path

from .views import admin_accounts as v

urlpatterns: list = [
    path("console/admin/", v.admin_home, name="admin_home"),
    path("console/admin/divisions/", v.division_list, name="admin_divisions"),
    path("console/admin/divisions/import/", v.division_import, name="admin_division_import"),
    path("console/admin/divisions/template/", v.division_template, name="admin_division_template"),
    path("console/admin/divisions/<str:code>/", v.division_change, name="admin_division_change"),
    path("console/admin/departments/", v.department_list, name="admin_departments"),
    path("console/admin/departments/<int:department_id>/", v.department_edit, name="admin_department_edit"),
    path("console/admin/users/", v.user_list, name="admin_users"),
    path("console/admin/users/new/", v.user_create, name="admin_user_create"),
    path("console/admin/users/import/", v.user_import, name="admin_user_import"),
    path("console/admin/users/template/", v.user_template, name="admin_user_template"),
    path("console/admin/users/<int:user_id>/", v.user_detail, name="admin_user_detail"),
    path("console/admin/users/<int:user_id>/action/", v.user_action, name="admin_user_action"),
    path(
        "console/admin/memberships/<int:membership_id>/withdraw/",
        v.membership_withdraw,
        name="admin_membership_withdraw",
    ),
    path("console/admin/tokens/<int:token_id>/revoke/", v.token_revoke, name="admin_token_revoke"),
    path(
        "console/admin/institutions/<int:institution_id>/invite/",
        v.institution_invite,
        name="admin_institution_invite",
    ),
]
