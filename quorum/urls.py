"""Top-level URLs: the apps' screens, the API under /api/, auth and admin."""
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("settings/", include("api.web_urls")),
    path("", include("projects.urls")),
    path("", include("labeling.urls")),
    path("", include("learning.urls")),
    path("", include("data.urls")),
    path("", include("review.urls")),
    path("", include("health.urls")),
]

handler500 = "quorum.errors.server_error"
handler403 = "quorum.views.permission_denied"
handler404 = "quorum.views.page_not_found"
