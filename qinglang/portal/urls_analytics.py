"""Pages of the analytics app (included by portal/urls.py, same namespace)."""

from django.urls import path

from .views import analytics as v

urlpatterns: list = [
    path("console/analytics/", v.dashboard, name="analytics_dashboard"),
    path("console/analytics/value/", v.drill, name="analytics_drill"),
]
