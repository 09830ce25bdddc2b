from django.urls import path

from projects.views import files, jobs, members, projects

app_name = "projects"
urlpatterns = [
    path("", projects.project_list, name="projects"),
    path("projects/new/", projects.project_new, name="project_new"),
    path("projects/<int:project_id>/", projects.project_detail, name="project"),
    path("projects/<int:project_id>/retrain/", projects.project_retrain, name="retrain"),
    path("projects/<int:project_id>/members/", members.members, name="members"),
    path("jobs/<int:job_id>/", jobs.job_detail, name="job"),
    path("items/<int:item_id>/image/", files.item_image, name="item_image"),
    # Sign-up is by invitation only: a manager's single-use link.
    path("invite/<str:token>/", members.invitation, name="invitation"),
]
