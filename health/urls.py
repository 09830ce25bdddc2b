from django.urls import path

from health import views

app_name = "health"
urlpatterns = [
    path("projects/<int:project_id>/health/", views.health_page, name="health"),
    path("projects/<int:project_id>/health/run/", views.health_run, name="health_run"),
    path("projects/<int:project_id>/health/status/", views.health_status, name="health_status"),
    path("projects/<int:project_id>/health/findings/<int:finding_id>/", views.finding_detail, name="finding"),
    path("projects/<int:project_id>/health/findings/<int:finding_id>/dismiss/", views.finding_dismiss,
         name="finding_dismiss"),
    path("projects/<int:project_id>/health/findings/<int:finding_id>/boost/", views.boost, name="boost"),
    path("projects/<int:project_id>/health/findings/<int:finding_id>/label/", views.finding_label,
         name="finding_label"),
]
