"""The installable portal: the web app manifest, the service worker, and what keeps the
worker's copies to the signed-in patient (docs: "Installable and offline").

The worker (templates/pwa/sw.js) keeps only static files and the patient's Today page. Today is
kept under a tag of the signed-in user (``pwa_user_tag``, sent as ``PWA_USER_HEADER``), so a
copy is never shown to, or a queued check-in sent as, anyone else; signing out clears it all
(``ClearSiteDataOnSignOut`` and static/js/offline-checkin.js).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

PWA_USER_HEADER = "X-Portal-Cache-Tag"
THEME_COLOUR = "#0b5c6b"  # portal.css --brand
BACKGROUND_COLOUR = "#f3f6f8"  # portal.css --wash
ICONS = (  # static/icons, drawn once (a white check on the brand colour)
    ("icons/icon-192.png", "192x192", "any"),
    ("icons/icon-512.png", "512x512", "any"),
    ("icons/icon-maskable-192.png", "192x192", "maskable"),
    ("icons/icon-maskable-512.png", "512x512", "maskable"),
)
# The app shell the worker fetches when it installs; other static files are kept as they are
# first fetched. ``static()`` gives WhiteNoise's hashed names in production, so a new release
# changes the worker's text and the browser installs the new worker.
SHELL = ("css/portal.css", "js/htmx.min.js", "js/offline-queue.js", "js/offline-checkin.js",
         "js/sw-push.js", *(path for path, _size, _purpose in ICONS))


def pwa_user_tag(user: object) -> str:
    """An opaque tag of the signed-in user ("" when signed out): names the worker's copies
    without putting an id or address on the device."""
    if not getattr(user, "is_authenticated", False):
        return ""
    tag = salted_hmac("core.pwa.user-tag", str(user.pk)).hexdigest()[:24]
    acting = getattr(user, "acting_for", None)
    if acting is not None:
        # A caregiver's copies and queued check-ins also name the patient they were made for
        # ("<user>.<patient>"): the queue sends one only while acting for that patient again,
        # and keeps it meanwhile (static/js/offline-queue.js).
        tag += "." + salted_hmac("core.pwa.acting-tag", f"{user.pk}:{acting.patient.pk}"
                                 ).hexdigest()[:12]
    return tag


@require_safe
def manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest. Public: browsers fetch it without cookies."""
    data = {
        "id": "/",
        "name": _("Alliance Portal"),
        "short_name": _("Alliance"),
        "description": _("Your care plan, built around you."),
        "lang": getattr(request, "LANGUAGE_CODE", "en"),
        "start_url": reverse("today"),
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [{"src": static(path), "sizes": size, "type": "image/png", "purpose": purpose}
                  for path, size, purpose in ICONS],
    }
    response = JsonResponse(data, content_type="application/manifest+json")
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, at the root so its scope is the whole site. ``no-cache``: the
    browser checks for a new worker on every visit."""
    shell = [static(path) for path in SHELL]
    version = hashlib.sha256(json.dumps(shell).encode()).hexdigest()[:12]
    body = render_to_string("pwa/sw.js", {
        "config": json.dumps({
            "version": version, "shell": shell, "today": reverse("today"),
            "userHeader": PWA_USER_HEADER, "queue": static("js/offline-queue.js"),
            "push": static("js/sw-push.js"),
        }),
    })
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


class ClearSiteDataOnSignOut:
    """Signing out (allauth's logout POST) answers ``Clear-Site-Data: "cache", "storage"``: the
    browser drops the worker's copy of Today, the offline queue (IndexedDB) and the worker
    itself, so the next person on this browser finds nothing of the record. (The page's script
    clears them too, for browsers that ignore the header.) Only an explicit sign-out: an
    expired session keeps a queued check-in until its owner signs in again."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if (request.method == "POST" and match is not None
                and match.url_name == "account_logout" and response.status_code in (302, 303)):
            response["Clear-Site-Data"] = '"cache", "storage"'
        return response
