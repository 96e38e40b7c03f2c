"""WebSocket routes, and nothing else (the Channels convention); asgi.py wraps them in auth and origin checks."""

# The student and teacher consumers arrive with the live-session issue.
websocket_urlpatterns: list = []
