from django.conf import settings
from django.urls import path

from . import views

urlpatterns = [path("healthz", views.healthz, name="healthz")]

# The bare comparison view for benchmarks/checkin_throughput.py; off unless asked for.
if settings.BENCHMARK_ENDPOINTS:
    urlpatterns.append(path("bench/noop", views.bench_noop, name="bench_noop"))
