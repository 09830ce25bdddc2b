from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("projects/", views.ProjectList.as_view(), name="projects"),
    path("projects/<int:project_id>/", views.ProjectDetail.as_view(), name="project"),
    path("projects/<int:project_id>/items/", views.ItemList.as_view(), name="items"),
    path("projects/<int:project_id>/flags/", views.FlagList.as_view(), name="flags"),
    path("projects/<int:project_id>/export/", views.Export.as_view(), name="export"),
    path("jobs/<int:job_id>/", views.JobDetail.as_view(), name="job"),
]
