"""Pages of the inspections app (included by portal/urls.py, same namespace)."""

urlpatterns: list = []
