from django.urls import path

from .views import autoaccept, files, imports, label, members, projects

app_name = "labeling"
urlpatterns = [
    path("", projects.project_list, name="projects"),
    path("projects/new/", projects.project_new, name="project_new"),
    path("projects/<int:project_id>/", projects.project_detail, name="project"),
    path("projects/<int:project_id>/retrain/", projects.project_retrain, name="retrain"),
    path("projects/<int:project_id>/label/", label.label_page, name="label"),
    path("projects/<int:project_id>/label/submit/", label.label_submit, name="submit"),
    path("projects/<int:project_id>/label/skip/", label.label_skip, name="skip"),
    path("projects/<int:project_id>/label/undo/", label.label_undo, name="undo"),
    path("projects/<int:project_id>/guidelines/", label.guidelines, name="guidelines"),
    path("projects/<int:project_id>/import/", imports.import_page, name="import"),
    path("jobs/<int:job_id>/", imports.job_detail, name="job"),
    path("items/<int:item_id>/image/", files.item_image, name="item_image"),
    path("projects/<int:project_id>/members/", members.members, name="members"),
    path("projects/<int:project_id>/auto-accept/", autoaccept.auto_accept_settings, name="auto_accept"),
]
