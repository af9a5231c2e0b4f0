"""The FHIR R4 read API, its discovery documents, and the OAuth 2.0 endpoints it trusts."""

from django.urls import include, path, re_path
from oauth2_provider import views as oauth_views

from interop import api_views

# A FHIR type, and a FHIR id (FHIR's own id rule: "$export" is none, so bulk_urls keeps it).
RESOURCE_TYPE = r"(?P<resource_type>[A-Z][A-Za-z]{1,63})"
RESOURCE_ID = r"(?P<resource_id>[A-Za-z0-9\-.]{1,64})"

# Only the toolkit's three endpoints (no application management, no OIDC), under its own
# namespace as it expects.
oauth_patterns = ([
    path("authorize/", api_views.ConsentView.as_view(), name="authorize"),
    path("token/", oauth_views.TokenView.as_view(), name="token"),
    path("revoke_token/", oauth_views.RevokeTokenView.as_view(), name="revoke-token"),
], "oauth2_provider")

urlpatterns = [
    path("fhir/R4/metadata", api_views.metadata, name="fhir_metadata"),
    path("fhir/R4/.well-known/smart-configuration", api_views.smart_configuration_view,
         name="fhir_smart_configuration"),
    re_path(rf"^fhir/R4/{RESOURCE_TYPE}$", api_views.search, name="fhir_search"),
    re_path(rf"^fhir/R4/{RESOURCE_TYPE}/{RESOURCE_ID}$", api_views.read, name="fhir_read"),
    path("o/", include(oauth_patterns)),
]
