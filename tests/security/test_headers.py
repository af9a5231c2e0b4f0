"""Security headers, the Content-Security-Policy with a fresh nonce per response, secure cookies,
HTTPS only in production, and Django's deployment check clean with production settings."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

from tests.conftest import PROJECT_DIR
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
NONCE_ATTR = re.compile(r'\bnonce="([^"]+)"')
ONE_YEAR = 365 * 24 * 3600


def csp_directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


def header_nonce(response) -> str:
    nonces = [v for v in csp_directives(response)["script-src"] if v.startswith("'nonce-")]
    assert len(nonces) == 1, response["Content-Security-Policy"]
    return nonces[0].removeprefix("'nonce-").removesuffix("'")


def test_csp_policy_allows_only_our_own_files_and_nonced_scripts(client, patient_a):
    # given
    client.force_login(patient_a.user)
    # when
    directives = csp_directives(client.get(reverse("today")))
    # then
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"][0] == "'self'"
    assert directives["style-src"] == ["'self'"]  # no 'unsafe-inline', no nonce needed
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in v for values in directives.values() for v in values)


def test_every_script_tag_carries_this_responses_nonce_and_each_response_gets_a_new_one(
    client, patient_a
):
    # given
    client.force_login(patient_a.user)
    # when
    first, second = client.get(reverse("today")), client.get(reverse("today"))
    # then
    for response in (first, second):
        tags = SCRIPT_TAG.findall(response.content.decode())
        assert tags, "the page loads htmx"
        nonce = header_nonce(response)
        assert len(nonce) >= 22  # 16 random bytes, base64
        for tag in tags:
            assert [nonce] == NONCE_ATTR.findall(tag), tag
    assert header_nonce(first) != header_nonce(second)


def test_htmx_is_told_not_to_inject_inline_styles(client, patient_a):
    # htmx 2 adds a <style> for its indicators unless told not to; the CSP would block it.
    client.force_login(patient_a.user)
    body = client.get(reverse("today")).content.decode()
    assert '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false' in body
    assert "style=" not in body
    assert "<style" not in body


@pytest.mark.parametrize("url_name", ["account_login", "healthz"])
def test_anonymous_pages_get_the_policy_and_the_headers_too(client, url_name):
    response = client.get(reverse(url_name))
    assert "Content-Security-Policy" in response
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_https_responses_carry_hsts_for_two_years_with_subdomains_and_preload(client):
    # given: production settings (DEBUG off), as the suite runs
    assert settings.HTTPS_ONLY
    # when
    response = client.get(reverse("account_login"), secure=True)
    # then
    hsts = response["Strict-Transport-Security"]
    max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))
    assert max_age >= ONE_YEAR
    assert "includeSubDomains" in hsts
    assert "preload" in hsts


def test_plain_http_is_redirected_to_https_except_the_health_check(db):
    # tests/conftest.py turns the redirect off for the plain-HTTP test client; turn it back on.
    with override_settings(SECURE_SSL_REDIRECT=True):
        client = Client()
        login = client.get(reverse("account_login"))
        health = client.get(reverse("healthz"))
    assert login.status_code == 301
    assert login["Location"].startswith("https://")
    assert health.status_code == 200


def test_session_and_csrf_cookies_are_secure_httponly_and_samesite_lax(client, patient_a):
    # given: the login form sets the CSRF cookie, signing in sets the session cookie
    client.get(reverse("account_login"), secure=True)
    # when
    response = client.post(reverse("account_login"),
                           {"login": patient_a.user.email, "password": PASSWORD}, secure=True)
    # then
    assert response.status_code == 302
    for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
        cookie = client.cookies[name]
        assert cookie["secure"] is True, name
        assert cookie["httponly"] is True, name
        assert cookie["samesite"] == "Lax", name


# --- Production settings, checked the way an operator would ---------------------------------

SERVICE_VARS = ("DJANGO_DEBUG", "DJANGO_HTTPS", "DJANGO_SECURE_PROXY_SSL_HEADER")


def production_env(tmp_path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(
        DJANGO_SETTINGS_MODULE="alliance_portal.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(60),
        MFA_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        DJANGO_ALLOWED_HOSTS="portal.example.org",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://portal.example.org",
        SITE_URL="https://portal.example.org",
        DJANGO_SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
        ALLIANCE_DATA_DIR=str(tmp_path),
    )
    env.update(overrides)
    return env


def deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=False, timeout=120,
    )


def test_deploy_check_is_clean_with_production_settings(tmp_path):
    result = deploy_check(production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_check_fails_without_https_settings(tmp_path):
    # The check above would catch a removed HSTS/redirect/secure-cookie setting: show it does.
    result = deploy_check(production_env(tmp_path, DJANGO_HTTPS="false"))
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


def test_proxy_ssl_header_comes_from_the_environment(tmp_path):
    probe = ("import django; from django.conf import settings; django.setup();"
             "print(settings.SECURE_PROXY_SSL_HEADER)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_DIR,
                            env=production_env(tmp_path), capture_output=True, text=True,
                            check=False, timeout=60)
    assert result.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')", result.stderr


def test_the_test_script_runs_the_deploy_check_with_production_values():
    script = (PROJECT_DIR / "scripts" / "test").read_text()
    assert "check --deploy --fail-level WARNING" in script
    assert "DJANGO_DEBUG=false" in script

