from django.urls import path

from . import account_views

# A patient's "Download my data" (and a young child's caregiver's, acting for the child).
urlpatterns = [
    path("account/my-data/", account_views.data_export_page, name="data_export"),
    path("account/my-data/new/", account_views.data_export_request_view,
         name="data_export_request"),
    path("account/my-data/<int:data_export_id>/download/", account_views.data_export_download,
         name="data_export_download"),
]
