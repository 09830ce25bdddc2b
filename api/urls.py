from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import datasets, predictions, projects, tokens, views

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its script as a file: no inline script under the Content-Security-Policy.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("tokens/", tokens.TokenList.as_view(), name="tokens"),
    path("tokens/<int:token_id>/", tokens.token_detail, name="token"),
    path("projects/", projects.ProjectList.as_view(), name="projects"),
    path("projects/<int:project_id>/", projects.ProjectDetail.as_view(), name="project"),
    path("projects/<int:project_id>/retrain/", projects.retrain, name="retrain"),
    path("projects/<int:project_id>/find-mislabels/", projects.find_mislabels, name="find_mislabels"),
    path("projects/<int:project_id>/health/", projects.health_run, name="health_run"),
    path("projects/<int:project_id>/findings/", projects.FindingList.as_view(), name="findings"),
    path("projects/<int:project_id>/items/", views.ItemList.as_view(), name="items"),
    path("projects/<int:project_id>/flags/", views.FlagList.as_view(), name="flags"),
    path("projects/<int:project_id>/export/", datasets.Export.as_view(), name="export"),
    path("jobs/<int:job_id>/", views.JobDetail.as_view(), name="job"),
    path("projects/<int:project_id>/members/", views.MemberList.as_view(), name="members"),
    path("projects/<int:project_id>/members/<path:username>/", views.member_detail, name="member"),
    path("projects/<int:project_id>/items/<int:item_id>/", views.item_detail, name="item"),
    path("projects/<int:project_id>/imports/", views.ImportList.as_view(), name="imports"),
    path("projects/<int:project_id>/jobs/", views.JobList.as_view(), name="jobs"),
    path("projects/<int:project_id>/annotations/", views.AnnotationList.as_view(), name="annotations"),
    path("projects/<int:project_id>/final-labels/", views.FinalLabelList.as_view(), name="final_labels"),
    path("projects/<int:project_id>/model-versions/", predictions.ModelVersionList.as_view(), name="model_versions"),
    path("projects/<int:project_id>/predictions/", predictions.PredictionList.as_view(), name="predictions"),
    path("projects/<int:project_id>/versions/", datasets.VersionList.as_view(), name="versions"),
    path("projects/<int:project_id>/versions/<str:version>/", datasets.version_detail, name="version"),
    path("projects/<int:project_id>/versions/<str:version>/export/", datasets.VersionExport.as_view(), name="version_export"),
    path("projects/<int:project_id>/versions/<str:version>/diff/<str:other>/", datasets.version_diff_view,
         name="version_diff"),
    # Keep last: any other /api/ path gets the JSON error shape, not Django's HTML 404.
    re_path(r"^(?P<rest>[\s\S]*)$", views.not_found, name="not_found"),
]
