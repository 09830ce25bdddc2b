from django.urls import path

from .views import queue

app_name = "review"
urlpatterns = [
    path("projects/<int:project_id>/review/", queue.review_queue, name="queue"),
    path("projects/<int:project_id>/review/flags/<int:flag_id>/", queue.flag_view, name="flag"),
    path("projects/<int:project_id>/review/flags/<int:flag_id>/resolve/", queue.flag_resolve, name="resolve"),
]
