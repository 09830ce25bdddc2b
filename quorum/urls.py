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
    path("", include("review.urls")),
    path("", include("labeling.urls")),
]

# Sign-up is by invitation only: a manager's single-use link (labeling.views.members).
from labeling.views.members import invitation  # noqa: E402

urlpatterns += [path("invite/<str:token>/", invitation, name="invitation")]

handler500 = "quorum.errors.server_error"
