from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("clinic/patients/invite/", views.patient_invite_view, name="patient_invite"),
    path(
        "accounts/invitation/<uidb64>/<token>/",
        views.invitation_accept_view,
        name="invitation_accept",
    ),
]
