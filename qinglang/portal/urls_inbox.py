"""The notification inbox (included by portal/urls.py, same namespace)."""

from django.urls import path

from .views import inbox

urlpatterns: list = [
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/read-all/", inbox.inbox_read_all, name="inbox_read_all"),
    path("inbox/<int:notification_id>/read/", inbox.inbox_read, name="inbox_read"),
]
