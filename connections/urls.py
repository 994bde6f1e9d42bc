from django.urls import path

from . import views

app_name = "connections"
urlpatterns = [
    path("connect/sageaccounting/", views.connect, name="connect"),
    path("connect/sageaccounting/session/", views.open_session, name="open_session"),
    path("connect/sageaccounting/link/", views.confirm_link, name="confirm_link"),
    path("connect/sageaccounting/start/", views.start, name="start"),
    path("connect/sageaccounting/callback/", views.callback, name="callback"),
    path("connect/sageaccounting/business/", views.choose_business, name="choose_business"),
    path("connect/sageaccounting/disconnect/", views.disconnect, name="disconnect"),
]
