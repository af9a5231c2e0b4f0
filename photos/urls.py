from django.urls import path

from . import views

urlpatterns = [
    path("photos/", views.photos_page, name="photos"),
    path("photos/consent/", views.photo_consent_give, name="photo_consent_give"),
    path("photos/consent/decline/", views.photo_consent_decline, name="photo_consent_decline"),
    path("photos/consent/withdraw/", views.photo_consent_withdraw, name="photo_consent_withdraw"),
    path("photos/<uuid:photo_id>/image/", views.my_photo_image, name="my_photo_image"),
    path("photos/<uuid:photo_id>/thumbnail/", views.my_photo_thumbnail,
         name="my_photo_thumbnail"),
    path("clinic/photos/<uuid:photo_id>/image/", views.clinic_photo_image,
         name="clinic_photo_image"),
    path("clinic/photos/<uuid:photo_id>/thumbnail/", views.clinic_photo_thumbnail,
         name="clinic_photo_thumbnail"),
]
