"""Pages of the clues app (included by portal/urls.py, same namespace)."""

urlpatterns: list = []
