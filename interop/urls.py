from django.urls import include, path

urlpatterns = [
    # Bulk Data export (interop/bulk_urls.py) before the read API: "$export" is no FHIR id.
    path("", include("interop.bulk_urls")),
    # The FHIR R4 read API, its CapabilityStatement and the OAuth 2.0 endpoints.
    path("", include("interop.api_urls")),
    # A patient's "Download my data".
    path("", include("interop.account_urls")),
]
