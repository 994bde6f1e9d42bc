"""Branded error pages: 404, 403, CSRF failure and 500 (with DEBUG off, as in production)."""

import pytest
from django.template.loader import get_template
from django.test import Client


@pytest.fixture(autouse=True)
def production_errors(settings):
    """DEBUG off, as in production (Django shows its technical pages otherwise), plus views that fail."""
    settings.DEBUG = False
    settings.ROOT_URLCONF = "tests.foundation.error_urls"


def assert_branded_error_page(response, status: int, title: str) -> str:
    assert response.status_code == status
    html = response.content.decode()
    assert 'id="error-page"' in html and title in html
    assert "/static/css/site.css" in html and 'class="brand"' in html
    # No sageint sign-in chrome: people arriving from a company's app have no account here.
    assert "Sign up" not in html and 'class="site-nav"' not in html
    return html


@pytest.mark.django_db
def test_unknown_address_shows_the_branded_404(client):
    html = assert_branded_error_page(client.get("/no-such-page/"), 404, "This page does not exist")
    assert "<title>Page not found · sageint</title>" in html


@pytest.mark.django_db
def test_permission_denied_shows_the_branded_403(client):
    assert_branded_error_page(
        client.get("/test-errors/forbidden/"), 403, "You are not allowed to see this page"
    )


def test_crashing_view_shows_the_branded_500_without_touching_the_database():
    # Not marked django_db: any database access while rendering the 500 page would fail this test.
    client = Client(raise_request_exception=False)
    html = assert_branded_error_page(
        client.get("/test-errors/broken/"), 500, "Something went wrong on our side"
    )
    assert "a bug in a view" not in html and "Traceback" not in html


def test_the_500_template_renders_with_no_context_at_all():
    # Django's server_error view renders it with no request and no context processors.
    html = get_template("500.html").render()
    assert "Something went wrong on our side" in html and 'href="/"' in html


@pytest.mark.django_db
def test_form_without_its_csrf_token_shows_the_branded_expired_form_page():
    browser = Client(enforce_csrf_checks=True)
    browser.get("/accounts/login/")  # sets the CSRF cookie
    response = browser.post("/accounts/login/", {"login": "demo", "password": "x"})
    html = assert_branded_error_page(response, 403, "This form could not be sent")
    assert "reload the page and try again" in html and "Allow cookies" not in html
    assert "CSRF verification failed" not in html


@pytest.mark.django_db
def test_form_sent_without_the_csrf_cookie_asks_to_allow_cookies():
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"login": "demo", "password": "x"})
    html = assert_branded_error_page(response, 403, "This form could not be sent")
    assert "Allow cookies for this" in html


@pytest.mark.django_db
def test_request_for_an_unknown_host_shows_the_branded_400(client):
    assert_branded_error_page(
        client.get("/", HTTP_HOST="not-this-site.example"), 400, "This request could not be understood"
    )
