"""TEMPORARY (sandbox-core dev only): the site's URLs without the api/ and connections/ apps in progress."""

from django.contrib import admin
from django.urls import include, path

from sageint import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("sandbox/", include("sandbox.urls")),
]
