from django.conf import settings
from django.urls import path

from . import pwa, views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    # At the root: a service worker controls only the paths under its own URL.
    path("manifest.webmanifest", pwa.manifest, name="pwa_manifest"),
    path("sw.js", pwa.service_worker, name="pwa_service_worker"),
]

# The bare comparison view for benchmarks/checkin_throughput.py; off unless asked for.
if settings.BENCHMARK_ENDPOINTS:
    urlpatterns.append(path("bench/noop", views.bench_noop, name="bench_noop"))
