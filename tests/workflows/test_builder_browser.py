"""The builder in a real browser: typing {{ in a step body opens the variable menu, picking inserts; a test run
shows its steps."""

import pytest

from tests.browsers import launched_chromium
from tests.workflows.conftest import invoice_input  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin_page(live_server, django_user_model):
    from django.test import Client

    admin_user = django_user_model.objects.create_superuser("builder", "builder@example.com", "pw-123456789")
    client = Client()
    client.force_login(admin_user)
    session = client.cookies["sessionid"].value
    with launched_chromium() as browser:
        context = browser.new_context()
        context.set_default_timeout(15_000)
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        page = context.new_page()
        external = []
        page.on(
            "request",
            lambda request: (
                external.append(request.url)
                if not request.url.startswith(live_server.url) and not request.url.startswith("data:")
                else None
            ),
        )
        yield page
        assert external == [], "the builder loaded something from outside sageint"
        context.close()


def test_typing_braces_in_a_step_body_opens_the_menu_and_picking_inserts(
    admin_page, live_server, seeded_sandbox, connected_end_user, example_workflow, monkeypatch
):
    from workflows import tasks

    # The run queued by "Test run" is executed in the server's thread, as a worker would.
    monkeypatch.setattr(
        tasks.execute_run_task, "apply_async", lambda args, **options: tasks.execute_run_task(*args)
    )
    page = admin_page
    page.goto(f"{live_server.url}/admin/workflows/workflow/{example_workflow.pk}/change/")
    body = page.locator("textarea[name='steps-3-body']")  # create_invoice, the fourth step
    body.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("{{")
    menu = page.locator(".wf-var-menu")
    menu.wait_for(state="visible")
    options = menu.locator("li").all_inner_texts()
    assert "trigger.email" in options
    assert "user.external_id" in options
    assert "steps.find_contact.response" in options
    assert not any(option.startswith("steps.record_payment") for option in options)  # a later step
    assert not any(option.startswith("steps.create_invoice") for option in options)  # this step itself

    page.keyboard.type("bank")  # filters the menu
    assert menu.locator("li").all_inner_texts() == [
        "steps.bank_account.status",
        "steps.bank_account.response",
    ]
    menu.locator("li", has_text="steps.bank_account.response").click()
    assert body.input_value().endswith("{{ steps.bank_account.response }}")
    assert menu.is_hidden()

    # A test run with the sample input shows each step.
    page.goto(f"{live_server.url}/admin/workflows/workflow/{example_workflow.pk}/run/")
    page.select_option("select[name=end_user]", str(connected_end_user.pk))
    page.click("input[name=_test]")
    page.wait_for_url("**/admin/workflows/run/*/change/")
    steps = page.locator("#wf-steps tr.wf-step")
    assert steps.count() == 5
    assert page.locator("#wf-steps .wf-status-succeeded").count() == 5
    assert "HTTP 201" in steps.nth(3).inner_text()
