"""WebSocket routes, and nothing else (the Channels convention); asgi.py wraps them in auth and origin checks."""

from django.urls import path

from .consumers import StudentConsumer, TeacherConsumer

websocket_urlpatterns = [
    path("ws/student/<str:code>/", StudentConsumer.as_asgi()),
    path("ws/teacher/<str:code>/", TeacherConsumer.as_asgi()),
]
