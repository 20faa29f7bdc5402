"""The notification inbox and the background jobs' progress pages (included by
portal/urls.py, same namespace)."""

from django.urls import path

from .views import inbox, jobs

urlpatterns: list = [
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/read-all/", inbox.inbox_read_all, name="inbox_read_all"),
    path("inbox/<int:notification_id>/read/", inbox.inbox_read, name="inbox_read"),
    path("jobs/<uuid:job_id>/", jobs.job_page, name="job"),
    path("jobs/<uuid:job_id>/progress/", jobs.job_progress, name="job_progress"),
    path("jobs/<uuid:job_id>/download/", jobs.job_download, name="job_download"),
]
