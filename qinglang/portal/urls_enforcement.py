"""Pages of the enforcement app (included by portal/urls.py, same namespace)."""

from django.urls import path

from .views import enforcement as v

urlpatterns: list = [
    path("console/cases/", v.case_list, name="case_list"),
    path("console/cases/<int:case_id>/", v.case_detail, name="case_detail"),
    path("public/typical-cases/", v.public_typical_cases, name="public_typical_cases"),
]
