from django.contrib import admin
from django.urls import path

from classroom import views as classroom_views

urlpatterns = [
    path("", classroom_views.home, name="home"),
    path("healthz", classroom_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
