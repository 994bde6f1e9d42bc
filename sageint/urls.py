from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = "sageint administration"
admin.site.site_title = "sageint admin"
admin.site.index_title = "Sage Accounting integration"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("workflows.urls")),
    path("api/v1/", include("agents.urls")),
    path("api/v1/", include("api.urls")),
    path("", include("connections.urls")),
]

if settings.SAGE_SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
