from django.urls import path

from . import audit_views, photo_views, views

urlpatterns = [
    path("clinic/patients/", views.patient_list, name="my_patients"),
    path("clinic/audit/", audit_views.audit_log, name="clinic_audit_log"),
    path("clinic/patients/<int:patient_id>/", views.patient_detail, name="patient_detail"),
    path("clinic/patients/<int:patient_id>/profile/", views.profile_edit,
         name="patient_profile_edit"),
    path("clinic/patients/<int:patient_id>/plan/edit/", views.plan_edit, name="plan_edit"),
    path("clinic/patients/<int:patient_id>/plan/fit/", views.plan_fit, name="plan_fit"),
    path("clinic/patients/<int:patient_id>/visits/", views.visit_record_view,
         name="visit_record"),
    path("clinic/patients/<int:patient_id>/plan/history/", views.plan_history,
         name="plan_history"),
    path("clinic/patients/<int:patient_id>/concerns/<int:concern_id>/reply/",
         views.concern_reply_view, name="concern_reply"),
    path("clinic/patients/<int:patient_id>/photos/", photo_views.patient_photos,
         name="patient_photos"),
    path("clinic/patients/<int:patient_id>/photos/<uuid:photo_id>/notes/",
         photo_views.photo_note_add_view, name="photo_note_add"),
    path("clinic/patients/<int:patient_id>/photos/areas/", photo_views.body_area_add_view,
         name="body_area_add"),
]
