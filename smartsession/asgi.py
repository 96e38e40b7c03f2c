"""The ASGI entry point Daphne serves: HTTP to Django, WebSockets to the classroom consumers."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartsession.settings")

# Set up Django (apps, models) before anything below imports consumers that import models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

import classroom.routing  # noqa: E402
from classroom.auth import SmartSessionAuthStack  # noqa: E402
from classroom.lifecycle import ServerLifecycle  # noqa: E402
from smartsession.origins import OriginValidator  # noqa: E402

# ServerLifecycle: under Daphne, SIGTERM ends every stream with its record written before the process stops.
application = ServerLifecycle(ProtocolTypeRouter(
    {
        # Static files are served by ServeStaticMiddleware (settings.MIDDLEWARE), with DEBUG on or off.
        "http": django_asgi_app,
        # The origin check keeps other web sites' pages, and other programs on this machine, from opening
        # sockets with our users' cookies: scheme, host and port must match (smartsession/origins.py).
        # Then the session cookie, else an `Authorization: Token` header, sets scope["user"].
        "websocket": OriginValidator(SmartSessionAuthStack(URLRouter(classroom.routing.websocket_urlpatterns))),
    }
))
