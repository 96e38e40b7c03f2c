from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authtoken.views import ObtainAuthToken

from smartsession import health
from smartsession.throttles import TokenRequestThrottle

urlpatterns = [
    # Liveness and readiness for process managers, load balancers and monitoring (docs/deployment.md).
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("classroom.urls")),
    # Django's own views with our template (templates/registration/login.html). No password reset by
    # e-mail: schools create accounts centrally, and an administrator resets passwords in the admin.
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # For non-browser clients: {"username", "password"} -> {"token"}, sent as `Authorization: Token <key>`
    # on API requests and on the WebSocket handshake (classroom/auth.py).
    # Rate-limited per client address (smartsession/throttles.py); wrong passwords also count towards
    # django-axes' lockout, as on the login page.
    path("api/auth/token/", ObtainAuthToken.as_view(throttle_classes=[TokenRequestThrottle]), name="api-token"),
    path("api/", include("sessions_app.urls")),
    # The OpenAPI document and Swagger UI over it; the UI's files come from our static files (settings).
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file, so the page needs no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
