from django.urls import path, register_converter

from api import connect_session_views, management_views, views


class AnyPathConverter:
    """Everything after the integration name, newlines included, so a hostile path reaches the path check and
    gets the proxy's 400 instead of slipping past the route."""

    regex = r"(?s:.*)"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AnyPathConverter, "anypath")

app_name = "api"
urlpatterns = [
    path("openapi.json", views.openapi_view, name="openapi"),
    path("connections", management_views.connections_list, name="connections"),
    # <str:…>, not <int:…>: a caller who sends an end user id instead of a connection id gets the API's 404 that
    # says how to find the id, not the site's HTML page.
    path("connections/<str:connection_id>", management_views.connection_detail, name="connection"),
    path("connections/<str:connection_id>/syncs", management_views.connection_syncs, name="connection_syncs"),
    path("connect-links", management_views.connect_links, name="connect_links"),
    path("connect/sessions", connect_session_views.create_session, name="connect_sessions"),
    path("proxy/<slug:integration>/<anypath:sage_path>", views.proxy_view, name="proxy"),
    path("proxy/<slug:integration>", views.proxy_view, {"sage_path": ""}),
]
