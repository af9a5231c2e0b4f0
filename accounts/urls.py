from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("clinic/patients/", views.my_patients, name="my_patients"),
    path("clinic/patients/invite/", views.patient_invite_view, name="patient_invite"),
    path("clinic/patients/<int:patient_id>/", views.patient_detail, name="patient_detail"),
    path("clinic/flagged/", views.flagged_patients, name="flagged_patients"),
    path(
        "accounts/invitation/<uidb64>/<token>/",
        views.invitation_accept_view,
        name="invitation_accept",
    ),
]
