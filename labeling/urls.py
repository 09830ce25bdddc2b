from django.urls import path

from labeling.views import label

app_name = "labeling"
urlpatterns = [
    path("projects/<int:project_id>/label/", label.label_page, name="label"),
    path("projects/<int:project_id>/label/submit/", label.label_submit, name="submit"),
    path("projects/<int:project_id>/label/skip/", label.label_skip, name="skip"),
    path("projects/<int:project_id>/label/undo/", label.label_undo, name="undo"),
    path("projects/<int:project_id>/guidelines/", label.guidelines, name="guidelines"),
]
