"""FHIR Bulk Data export (interop/bulk_views.py), before the read API: "$export" is no FHIR id."""

from django.urls import path

from interop import bulk_views

urlpatterns = [
    path("fhir/R4/Group/<int:clinic_id>/$export", bulk_views.group_export,
         name="fhir_bulk_export_group"),
    path("fhir/R4/Patient/$export", bulk_views.patient_export, name="fhir_bulk_export_patient"),
    path("fhir/R4/bulk-status/<int:export_id>", bulk_views.export_status, name="fhir_bulk_status"),
    path("fhir/R4/bulk-files/<int:export_id>/<str:file_name>", bulk_views.export_file,
         name="fhir_bulk_file"),
]
