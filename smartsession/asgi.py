"""The ASGI entry point Daphne serves: HTTP to Django, WebSockets to the classroom consumers."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartsession.settings")

# Set up Django (apps, models) before anything below imports consumers that import models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

import classroom.routing  # noqa: E402
from classroom.auth import SmartSessionAuthStack  # noqa: E402
from classroom.lifecycle import ServerLifecycle  # noqa: E402

# Plain `daphne` (unlike `manage.py runserver`) serves no static files; in development we
# serve them from the app so `make run` shows a styled page. With DEBUG off, static files
# are for the deployment in front (collectstatic into STATIC_ROOT).
http_app = ASGIStaticFilesHandler(django_asgi_app) if settings.DEBUG else django_asgi_app

# ServerLifecycle: under Daphne, SIGTERM ends every stream with its record written before the process stops.
application = ServerLifecycle(ProtocolTypeRouter(
    {
        "http": http_app,
        # The origin check keeps other web sites' pages from opening sockets with our users' cookies.
        # It also refuses a handshake with no Origin header at all (unless ALLOWED_HOSTS has "*"), so
        # non-browser clients must send one naming an allowed host, e.g. "Origin: http://localhost".
        # Then the session cookie, else an `Authorization: Token` header, sets scope["user"].
        "websocket": AllowedHostsOriginValidator(
            SmartSessionAuthStack(URLRouter(classroom.routing.websocket_urlpatterns))
        ),
    }
))
