from django.urls import path

from . import access_log_views, caregiver_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("account/language/", views.language_choose, name="language_choose"),
    path("record-access/", access_log_views.access_log, name="access_log"),
    path("caring/", caregiver_views.caregiver_choose, name="caregiver_choose"),
    path("caring/act/", caregiver_views.caregiver_act, name="caregiver_act"),
    path("caring/stop/", caregiver_views.caregiver_stop, name="caregiver_stop"),
    path("account/caregivers/", caregiver_views.caregivers_mine, name="caregivers_mine"),
    path("clinic/patients/invite/", views.patient_invite_view, name="patient_invite"),
    path(
        "accounts/invitation/<uidb64>/<token>/",
        views.invitation_accept_view,
        name="invitation_accept",
    ),
]
