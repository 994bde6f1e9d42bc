import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.demo import ensure_demo_accounts

PAGES = ["account_login", "account_signup", "account_reset_password", "home"]


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", PAGES)
def test_pages_render_inside_the_project_layout(client, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="site-header"' in html and ">sageint</a>" in html


SIGNED_IN_PAGES = [
    "/",
    "/connect/sageaccounting/",
    "/sandbox/",
    "/admin/",
    "/admin/connections/integrationsettings/",
    "/admin/api/requestlog/",
]


def external_references(html: str) -> list[str]:
    # Anything the browser would fetch from another host: src/href/url() with a scheme or protocol-relative.
    return re.findall(
        r'(?:src|href)\s*=\s*["\'](?:https?:)?//[^"\']*|url\(\s*["\']?(?:https?:)?//[^)]*\)', html
    )


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", PAGES)
def test_no_public_page_loads_anything_from_the_internet(client, url_name):
    assert external_references(client.get(reverse(url_name)).content.decode()) == []


@pytest.mark.django_db
@pytest.mark.parametrize("path", SIGNED_IN_PAGES)
def test_no_signed_in_page_loads_anything_from_the_internet(client, path):
    ensure_demo_accounts()
    client.login(username="admin", password="sageint-admin")
    response = client.get(path, follow=True)
    assert response.status_code == 200
    assert external_references(response.content.decode()) == []


def test_the_stylesheet_loads_nothing_from_the_internet():
    from django.conf import settings

    css = (settings.BASE_DIR / "static" / "css" / "site.css").read_text()
    assert external_references(css) == [] and "@import" not in css


@pytest.mark.django_db
def test_signup_creates_a_user_and_signs_them_in(client):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "new@example.com",
            "username": "newuser",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
    )
    assert response.status_code == 302
    assert get_user_model().objects.filter(username="newuser", email="new@example.com").exists()
    assert "Signed in as" in client.get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_signup_with_mismatched_passwords_shows_the_error(client):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "x@example.com",
            "username": "x",
            "password1": "a-long-pass-phrase",
            "password2": "different-phrase",
        },
    )
    assert response.status_code == 200
    assert "same password" in response.content.decode()
    assert not get_user_model().objects.filter(username="x").exists()


@pytest.mark.django_db
def test_demo_user_logs_in_with_the_form_and_out_again(client):
    ensure_demo_accounts()
    response = client.post(reverse("account_login"), {"login": "demo", "password": "sageint-demo"})
    assert response.status_code == 302
    assert "Signed in as <strong>demo</strong>" in client.get(reverse("home")).content.decode()
    client.post(reverse("account_logout"))
    assert "Signed in as" not in client.get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_wrong_password_is_refused_with_a_message(client):
    ensure_demo_accounts()
    response = client.post(reverse("account_login"), {"login": "demo", "password": "wrong"})
    assert response.status_code == 200
    assert "not correct" in response.content.decode()


@pytest.mark.django_db
def test_staff_reach_the_django_admin(client):
    ensure_demo_accounts()
    client.login(username="admin", password="sageint-admin")
    assert client.get("/admin/").status_code == 200
