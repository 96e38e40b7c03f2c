"""Mounted at /api/ by smartsession/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("session/start/", views.SessionStartView.as_view(), name="session-start"),
    path("session/history/", views.SessionHistoryView.as_view(), name="session-history"),
    path("session/history/export.json", views.PersonalRecordsView.as_view(), name="personal-records"),
    path("session/history/export.csv", views.PersonalRecordsCsvView.as_view(), name="personal-records-csv"),
    path("session/<int:session_id>/", views.SessionDetailView.as_view(), name="session-detail"),
    path("session/<int:session_id>/end/", views.SessionEndView.as_view(), name="session-end"),
    path("session/<int:session_id>/samples.csv", views.SessionSamplesCsvView.as_view(), name="session-samples-csv"),
    path("lessons/", views.LessonHistoryView.as_view(), name="lesson-list"),
    path("lessons/<int:lesson_id>/", views.LessonDetailView.as_view(), name="lesson-detail"),
    path("lessons/<int:lesson_id>/sessions/", views.LessonSessionsView.as_view(), name="lesson-sessions"),
]
