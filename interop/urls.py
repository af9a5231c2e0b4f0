from django.urls import include, path

urlpatterns = [
    # The FHIR R4 API, its bulk export and the OAuth 2.0 endpoints (interop/api_urls.py).
    path("", include("interop.api_urls")),
    # A patient's "Download my data" (interop/account_urls.py).
    path("", include("interop.account_urls")),
]
