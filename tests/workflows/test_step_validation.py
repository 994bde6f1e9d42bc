"""Templates are checked when a workflow is saved: malformed placeholders, unknown or later steps."""

from workflows.validation import StepDraft, step_errors


def drafts(*steps):
    return [StepDraft(key=k, method=m, path=p, body=b) for k, m, p, b in steps]


def test_the_example_steps_are_valid():
    from workflows.examples import EXAMPLE_STEPS

    assert step_errors([StepDraft(**step) for step in EXAMPLE_STEPS]) == {}


def test_a_reference_to_a_later_step_is_refused_on_the_field():
    errors = step_errors(
        drafts(
            ("a", "POST", "/contacts", {"x": "{{ steps.b.response.id }}"}),
            ("b", "GET", "/contacts", None),
        )
    )
    assert list(errors) == [0]
    assert "runs at or after this one" in errors[0]["body"]


def test_a_reference_to_its_own_step_is_refused():
    errors = step_errors(drafts(("a", "GET", "/contacts/{{ steps.a.response.id }}", None)))
    assert "runs at or after this one" in errors[0]["path"]


def test_an_unknown_step_is_refused_naming_the_earlier_ones():
    errors = step_errors(
        drafts(
            ("first", "GET", "/contacts", None),
            ("second", "POST", "/x", {"id": "{{ steps.frist.response.id }}"}),
        )
    )
    assert errors[1]["body"] == (
        "{{ steps.frist.response.id }} refers to an unknown step 'frist'; earlier steps: first."
    )


def test_malformed_placeholders_and_dunders_are_refused():
    errors = step_errors(
        drafts(
            ("a", "GET", "/contacts/{{ trigger.id", None),
            ("b", "POST", "/x", {"n": "{{ trigger.__class__.__mro__ }}"}),
            ("c", "POST", "/x", {"n": "{{ trigger.email|lower }}"}),
        )
    )
    assert set(errors) == {0, 1, 2}
    assert "no matching" in errors[0]["path"]
    assert "'__'" in errors[1]["body"]
    assert "not a variable" in errors[2]["body"]


def test_duplicate_keys_and_bodies_on_reads_are_refused():
    errors = step_errors(drafts(("a", "GET", "/contacts", None), ("a", "GET", "/contacts", {"x": 1})))
    assert "already uses the key" in errors[1]["key"]
    assert "has no body" in errors[1]["body"]
