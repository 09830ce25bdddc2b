from django.urls import path

from learning.views import autoaccept, features, models

app_name = "learning"
urlpatterns = [
    path("projects/<int:project_id>/auto-accept/", autoaccept.auto_accept_settings, name="auto_accept"),
    path("projects/<int:project_id>/models/", models.models_page, name="models"),
    path("projects/<int:project_id>/features/", features.features_settings, name="features"),
]
