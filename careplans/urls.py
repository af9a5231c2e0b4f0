from django.urls import path

from . import views

urlpatterns = [
    path("plan/", views.my_plan, name="my_plan"),
    path("plan/history/", views.my_plan_history, name="my_plan_history"),
    path("plan/items/<uuid:item_key>/concern/", views.raise_concern, name="raise_concern"),
    path("profile/", views.my_profile, name="my_profile"),
]
