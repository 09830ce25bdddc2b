from django.urls import path

from .views import health, queue

app_name = "review"
urlpatterns = [
    path("projects/<int:project_id>/review/", queue.review_queue, name="queue"),
    path("projects/<int:project_id>/review/flags/<int:flag_id>/", queue.flag_view, name="flag"),
    path("projects/<int:project_id>/review/flags/<int:flag_id>/resolve/", queue.flag_resolve, name="resolve"),
    path("projects/<int:project_id>/health/", health.health_page, name="health"),
    path("projects/<int:project_id>/health/run/", health.health_run, name="health_run"),
    path("projects/<int:project_id>/health/status/", health.health_status, name="health_status"),
    path("projects/<int:project_id>/health/findings/<int:finding_id>/", health.finding_detail, name="finding"),
    path("projects/<int:project_id>/health/findings/<int:finding_id>/dismiss/", health.finding_dismiss,
         name="finding_dismiss"),
    path("projects/<int:project_id>/health/findings/<int:finding_id>/boost/", health.boost, name="boost"),
    path("projects/<int:project_id>/models/", health.models_page, name="models"),
]
