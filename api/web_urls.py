from django.urls import path

from . import web

app_name = "api_settings"
urlpatterns = [
    path("tokens/", web.tokens_page, name="tokens"),
    path("tokens/<int:token_id>/revoke/", web.token_revoke, name="revoke"),
]
