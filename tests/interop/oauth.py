"""Real OAuth 2.0 flows for the FHIR API tests: tokens come from ``/o/token/`` (client
credentials, or a signed-in patient's authorization code with PKCE S256), never from the
database directly."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlparse

from django.test import Client
from django.urls import reverse

from interop.services import (
    RegisteredApp,
    RegisteredClient,
    clinic_client_register,
    patient_app_register,
)

REDIRECT_URI = "https://app.example/callback"


def system_client(clinic, *, name: str = "Epic bridge",
                  scopes: str = "system/*.rs") -> RegisteredClient:
    return clinic_client_register(clinic=clinic, name=name, scopes=scopes, registered_by=None)


def patient_app(name: str = "My Skin Diary") -> RegisteredApp:
    return patient_app_register(name=name, redirect_uris=[REDIRECT_URI], registered_by=None)


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def client_credentials(http: Client, registered: RegisteredClient, *, scope: str | None = None,
                       secret: str | None = None):
    """The token endpoint's answer to a client credentials request."""
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    return http.post(reverse("oauth2_provider:token"), data,
                     HTTP_AUTHORIZATION=basic_auth(registered.client_id,
                                                   secret or registered.client_secret))


def system_token(http: Client, registered: RegisteredClient, *, scope: str | None = None) -> str:
    response = client_credentials(http, registered, scope=scope)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


def authorize_params(app: RegisteredApp, pkce: Pkce | None, *,
                     scope: str = "patient/*.rs launch/patient", method: str = "S256") -> dict:
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT_URI,
              "scope": scope, "state": "xyz"}
    if pkce is not None:
        params |= {"code_challenge": pkce.challenge, "code_challenge_method": method}
    return params


def authorize_url(params: dict) -> str:
    return f"{reverse('oauth2_provider:authorize')}?{urlencode(params)}"


def code_from(response) -> str:
    assert response.status_code == 302, response.content
    query = parse_qs(urlparse(response.url).query)
    assert query.get("state") == ["xyz"]
    return query["code"][0]


def patient_app_token_response(http: Client, user, app: RegisteredApp, *,
                               scope: str = "patient/*.rs launch/patient") -> dict:
    """A signed-in patient allows the app on the consent page; the app swaps the code (with its
    PKCE verifier) for a token."""
    pkce = Pkce.new()
    params = authorize_params(app, pkce, scope=scope)
    http.force_login(user)
    page = http.get(authorize_url(params))
    assert page.status_code == 200, page.content
    code = code_from(http.post(authorize_url(params), params | {"allow": "on"}))
    http.logout()
    response = http.post(reverse("oauth2_provider:token"), {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "client_id": app.client_id, "code_verifier": pkce.verifier})
    assert response.status_code == 200, response.content
    return response.json()


def patient_app_token(http: Client, user, app: RegisteredApp, **kwargs) -> str:
    return patient_app_token_response(http, user, app, **kwargs)["access_token"]


def fhir_get(http: Client, path: str, token: str | None, **params):
    """GET ``/fhir/R4/<path>`` with a bearer token (no session)."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return http.get(f"/fhir/R4/{path}", params, **headers)


def body(response) -> dict:
    return json.loads(response.content)
