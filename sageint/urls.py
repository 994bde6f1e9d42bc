from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from agents import views as agents_views

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
    # The MCP server (agents/mcp_server.py) and its OAuth protected-resource metadata.
    path("mcp", agents_views.mcp_view, name="mcp"),
    path(".well-known/oauth-protected-resource/mcp", agents_views.mcp_view),
    path("api/v1/", include("api.urls")),
    path("", include("connections.urls")),
]

if settings.SAGE_SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
