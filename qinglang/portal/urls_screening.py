"""Pages of the screening app (included by portal/urls.py, same namespace)."""

from django.urls import path

from .views import screening as v

urlpatterns: list = [
    path("console/screening/check/", v.text_check, name="screening_check"),
    path("console/screening/holds/", v.hold_list, name="screening_holds"),
    path("console/screening/holds/<int:hold_id>/review/", v.hold_review, name="screening_hold_review"),
    path("console/screening/patrol/", v.patrol_list, name="screening_patrol"),
    path("console/screening/patrol/import/", v.patrol_import, name="screening_patrol_import"),
    path("console/screening/patrol/<int:post_id>/takedown/", v.takedown_request, name="screening_takedown"),
    path(
        "console/screening/takedowns/<int:takedown_id>/answer/",
        v.takedown_answer,
        name="screening_takedown_answer",
    ),
    path("console/screening/sweeps/", v.sweep_list, name="screening_sweeps"),
    path("console/screening/sweeps/<int:sweep_id>/", v.sweep_detail, name="screening_sweep"),
    path("console/screening/sweeps/<int:sweep_id>/import/", v.places_import, name="screening_places_import"),
    path(
        "console/screening/sweeps/<int:sweep_id>/findings/<int:visit_id>/close/",
        v.finding_close,
        name="screening_finding_close",
    ),
    # the grid worker's phone pages
    path("grid/sweeps/<int:sweep_id>/", v.visit_places, name="screening_visit_places"),
    path("grid/places/<int:place_id>/", v.visit_record, name="screening_visit"),
]
