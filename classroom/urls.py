"""The pages; mounted at the site root by smartsession/urls.py."""

from django.urls import path

from . import history_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("join/", views.join, name="join"),
    path("class/<str:code>/", views.student_class, name="student-class"),
    path("class/<str:code>/consent/", views.consent, name="class-consent"),
    path("class/<str:code>/consent/withdraw/", views.withdraw_consent, name="class-consent-withdraw"),
    path("teach/", views.teacher_classes, name="teacher-classes"),
    path("teach/<str:code>/", views.dashboard, name="dashboard"),
    path("teach/<str:code>/settings/", views.class_settings, name="class-settings"),
    path("teach/<str:code>/history/", history_views.class_history, name="class-history"),
    path("history/", history_views.my_history, name="my-history"),
    path("history/<int:session_id>/", history_views.session_page, name="session-page"),
]
