"""The pages; mounted at the site root by smartsession/urls.py."""

from django.urls import path

from . import history_views, lesson_views, model_views, roster_views, settings_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("join/", views.join, name="join"),
    path("join/<str:code>/", roster_views.join_link, name="join-link"),
    path("signup/", roster_views.sign_up, name="sign-up"),
    path("invite/<uidb64>/<token>/", roster_views.InviteView.as_view(), name="invite"),
    path("class/<str:code>/", views.student_class, name="student-class"),
    path("class/<str:code>/consent/", views.consent, name="class-consent"),
    path("face-model/face_landmarker.task", model_views.face_model, name="face-model"),
    path("class/<str:code>/consent/withdraw/", views.withdraw_consent, name="class-consent-withdraw"),
    path("classes/", views.all_classes, name="all-classes"),
    path("teach/", views.teacher_classes, name="teacher-classes"),
    path("teach/<str:code>/", views.dashboard, name="dashboard"),
    path("teach/<str:code>/settings/", settings_views.class_settings, name="class-settings"),
    path("teach/<str:code>/settings/expressions/", settings_views.class_expressions, name="class-expressions"),
    path("teach/<str:code>/students/", roster_views.class_students, name="class-students"),
    path("teach/<str:code>/students/sign-up/", roster_views.class_self_signup, name="class-self-signup"),
    path("teach/<str:code>/join-qr.png", roster_views.join_qr, name="class-join-qr"),
    path("teach/<str:code>/lesson/start/", lesson_views.lesson_start, name="lesson-start"),
    path("teach/<str:code>/lesson/end/", lesson_views.lesson_end, name="lesson-end"),
    path("teach/<str:code>/history/", history_views.class_history, name="class-history"),
    path("lessons/<int:lesson_id>/", lesson_views.lesson_page, name="lesson-page"),
    path("lessons/<int:lesson_id>/students.csv", lesson_views.lesson_report_csv, name="lesson-report-csv"),
    path("lessons/<int:lesson_id>/samples.csv", lesson_views.lesson_samples_csv, name="lesson-samples-csv"),
    path("history/", history_views.my_history, name="my-history"),
    path("history/erase/", history_views.erase_my_records, name="erase-my-records"),
    path("history/<int:session_id>/", history_views.session_page, name="session-page"),
]
