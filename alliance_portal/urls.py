from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("accounts.urls")),
    path("", include("core.urls")),
    path("", include("careplans.urls")),
    path("", include("catalogue.urls")),
    path("", include("photos.urls")),
    path("", include("checkins.urls")),
    path("", include("reminders.urls")),
    path("", include("messaging.urls")),
    path("", include("flags.urls")),
    path("", include("clinic.urls")),
    path("", include("interop.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]

# Plain error pages (templates/404.html, 500.html); a database outage gets templates/503.html.
handler500 = "core.views.server_error"
# allauth answers its rate limits with this page (says when to try again).
handler429 = "accounts.rate_limit_views.too_many_requests"
