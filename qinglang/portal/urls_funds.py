"""Pages of the funds app (included by portal/urls.py, same namespace)."""

urlpatterns: list = []
