from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management import call_command


def bootstrap(*args: str) -> str:
    out = StringIO()
    call_command("bootstrap_demo", "--no-sandbox-seed", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_bootstrap_creates_an_admin_and_an_end_user_who_can_log_in(client):
    bootstrap()
    User = get_user_model()
    admin, demo = User.objects.get(username="admin"), User.objects.get(username="demo")
    assert admin.is_superuser and admin.is_staff
    assert not demo.is_staff
    assert EmailAddress.objects.get(user=demo).verified
    assert client.login(username="demo", password="sageint-demo")


@pytest.mark.django_db
def test_bootstrap_is_idempotent_and_keeps_changed_passwords():
    bootstrap()
    demo = get_user_model().objects.get(username="demo")
    demo.set_password("changed-by-the-user")
    demo.save()
    output = bootstrap()
    assert get_user_model().objects.count() == 2
    assert EmailAddress.objects.count() == 2
    assert get_user_model().objects.get(username="demo").check_password("changed-by-the-user")
    assert "[exists]" in output


@pytest.mark.django_db
def test_credentials_are_hidden_when_debug_is_off_unless_asked(settings):
    settings.DEBUG = False
    assert "sageint-demo" not in bootstrap()
    assert "sageint-demo" in bootstrap("--print-credentials")
