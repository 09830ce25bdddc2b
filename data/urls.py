from django.urls import path

from data import views

app_name = "data"
urlpatterns = [
    path("projects/<int:project_id>/import/", views.import_page, name="import"),
]
