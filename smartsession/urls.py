from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

from classroom import views as classroom_views

urlpatterns = [
    path("", classroom_views.home, name="home"),
    path("healthz", classroom_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # For non-browser clients: {"username", "password"} -> {"token"}, sent as `Authorization: Token <key>`
    # on API requests and on the WebSocket handshake (classroom/auth.py).
    path("api/auth/token/", obtain_auth_token, name="api-token"),
    path("api/", include("sessions_app.urls")),
    # The OpenAPI document and Swagger UI over it; the UI's files come from our static files (settings).
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
