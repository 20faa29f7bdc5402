"""Pages of the enforcement app (included by portal/urls.py, same namespace)."""

urlpatterns: list = []
