from importlib.util import find_spec

from django.urls import include, path, re_path

from . import identity_api, oauth_views, views
from .generic.views import generic_resource

app_name = "sandbox"
urlpatterns = [
    path("", views.home, name="home"),
    path("reset/", views.reset, name="reset"),
    path("faults/", views.faults, name="faults"),
    # OAuth, at the paths of the URL contract (Sage: /oauth2/auth/central, /token, /revoke).
    path("oauth2/auth/central", oauth_views.authorize, name="authorize"),
    path("oauth/token", oauth_views.token, name="token"),
    path("oauth/revoke", oauth_views.revoke, name="revoke"),
    # API v3.1: identity resources here, accounting resources from sandbox.resources.urls.
    path("api/v3.1/user", identity_api.user, name="api-user"),
    path("api/v3.1/businesses", identity_api.businesses, name="api-businesses"),
    path("api/v3.1/businesses/lead", identity_api.lead_business, name="api-lead-business"),
    path("api/v3.1/businesses/<str:key>", identity_api.business, name="api-business"),
]

# Accounting resources (owned by the sandbox-accounting work); guarded so the sandbox runs before they exist.
if find_spec("sandbox.resources") and find_spec("sandbox.resources.urls"):
    urlpatterns.append(path("api/v3.1/", include("sandbox.resources.urls")))

# Every other path of Sage's API description: the generic engine (sandbox/generic/).
urlpatterns.append(
    re_path(r"^api/v3\.1/(?P<path>[a-z_]+(?:/[^/]+){0,2})$", generic_resource, name="api-generic")
)

# Anything else under the API answers Sage's 404 body (after auth, as Sage does), not Django's HTML page.
urlpatterns.append(re_path(r"^api/v3\.1/", views.api_not_found, name="api-not-found"))
