from django.urls import path

from . import views

urlpatterns = [
    path("messages/", views.messages_page, name="clinic_messages"),
    path("messages/new/", views.thread_new, name="message_new"),
    path("messages/unread/", views.messages_unread, name="messages_unread"),
    path("messages/<int:thread_id>/", views.message_thread, name="message_thread"),
]
