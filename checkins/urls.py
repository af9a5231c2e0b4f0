from django.urls import path

from . import views

urlpatterns = [
    path("today/", views.today, name="today"),
    path("history/", views.history, name="checkin_history"),
]
