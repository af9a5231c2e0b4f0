from django.urls import path

from . import views

urlpatterns = [
    path("clinic/flagged/", views.flagged_patients, name="flagged_patients"),
    path("clinic/flags/<int:flag_id>/", views.flag_detail, name="flag_detail"),
    path("clinic/flags/<int:flag_id>/acknowledge/", views.flag_acknowledge_view,
         name="flag_acknowledge"),
    path("clinic/flags/<int:flag_id>/outreach/", views.flag_outreach_view, name="flag_outreach"),
    path("clinic/flags/<int:flag_id>/escalate/", views.flag_escalate_view, name="flag_escalate"),
    path("clinic/flags/<int:flag_id>/resolve/", views.flag_resolve_view, name="flag_resolve"),
]
