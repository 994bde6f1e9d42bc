"""The {{ }} resolver: JSON types kept, interpolation, path encoding, Sage's $-keys, clear misses, hostile input."""

import pytest

from workflows.variables import (
    MAX_DEPTH,
    VariableError,
    check_data,
    render_path,
    render_value,
    variables_in,
)

CONTEXT = {
    "trigger": {
        "email": "ann+1@example.com",
        "quantity": 2,
        "price": "25.99",
        "tags": ["a", "b"],
        "ok": True,
    },
    "user": {"external_id": "customer-42", "display_name": "Ann"},
    "steps": {
        "find_contact": {
            "status": 200,
            "response": {"$items": [{"id": "c0ffee", "name": "Acme"}], "$total": 1, "items": "a key"},
        }
    },
}


def test_whole_value_placeholders_keep_their_json_type():
    rendered = render_value(
        {
            "n": "{{ trigger.quantity }}",
            "list": "{{trigger.tags}}",
            "flag": " {{ trigger.ok }} ",
            "obj": "{{ steps.find_contact.response.$items.0 }}",
            "text": "{{ trigger.price }}",
        },
        CONTEXT,
    )
    assert rendered == {
        "n": 2,
        "list": ["a", "b"],
        "flag": True,
        "obj": {"id": "c0ffee", "name": "Acme"},
        "text": "25.99",
    }


def test_placeholders_inside_text_are_interpolated():
    rendered = render_value(
        ["Qty {{ trigger.quantity }} for {{ user.display_name }}: {{ trigger.tags }}"], CONTEXT
    )
    assert rendered == ['Qty 2 for Ann: ["a","b"]']


def test_a_string_that_merely_looks_like_json_stays_a_string():
    context = {"trigger": {"s": "[1, 2]"}, "user": {}, "steps": {}}
    assert render_value("{{ trigger.s }}", context) == "[1, 2]"


def test_dollar_keys_and_list_indexes():
    assert render_value("{{ steps.find_contact.response.$items.0.id }}", CONTEXT) == "c0ffee"
    assert render_value("{{ steps.find_contact.response.$total }}", CONTEXT) == 1


def test_a_key_named_like_a_method_is_the_key_not_the_method():
    assert render_value("{{ steps.find_contact.response.items }}", CONTEXT) == "a key"


def test_path_values_are_url_encoded_as_one_segment():
    context = {"trigger": {"id": "../../oauth/token", "email": "a+b@x.com"}, "user": {}, "steps": {}}
    assert render_path("/contacts/{{ trigger.id }}", context) == "/contacts/..%2F..%2Foauth%2Ftoken"
    assert render_path("/contacts?email={{ trigger.email }}", context) == "/contacts?email=a%2Bb%40x.com"


def test_a_path_cannot_take_an_object():
    with pytest.raises(VariableError, match="a path needs a text or a number"):
        render_path("/x/{{ steps.find_contact.response }}", CONTEXT)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ trigger.emial }}", "trigger has no 'emial'; available: email, quantity, price, tags, ok"),
        ("{{ steps.find_contact.response.$items.3.id }}", "has 1 item(s), no index 3"),
        (
            "{{ steps.nope.response.id }}",
            "step 'nope' has no answer in this run (steps with answers: find_contact)",
        ),
        ("{{ trigger.email.upper }}", "trigger.email is a text, which has no 'upper'"),
        ("{{ steps.find_contact.response.$items.first }}", "is a list of 1; use an index"),
    ],
)
def test_a_missing_variable_is_named_with_what_was_available(template, expected):
    with pytest.raises(VariableError) as caught:
        render_value(template, CONTEXT)
    assert expected in caught.value.message
    assert template.replace("{{ ", "").replace(" }}", "") in caught.value.message


@pytest.mark.parametrize(
    "template",
    [
        "{{ trigger.__class__ }}",
        "{{ trigger.email.__len__ }}",
        "{{ trigger['email'] }}",
        "{{ trigger.email() }}",
        "{{ trigger.email | upper }}",
        "{{ config.SECRET_KEY }}",
        "{{ settings.SECRET_KEY }}",
        "{{ }}",
        "{{ trigger.email",
        "{{ steps.find_contact.request.path }}",
        "{{ lipsum.__globals__ }}",
    ],
)
def test_hostile_or_malformed_templates_are_refused(template):
    with pytest.raises(VariableError):
        variables_in(template)
    with pytest.raises(VariableError):
        render_value(template, CONTEXT)


def test_deeply_nested_templates_are_refused():
    template = "{{ trigger.email }}"
    for _ in range(MAX_DEPTH + 5):
        template = {"x": template}
    with pytest.raises(VariableError, match="nested deeper"):
        render_value(template, CONTEXT)


def test_huge_or_deep_input_is_refused():
    with pytest.raises(VariableError, match="larger than"):
        check_data({"blob": "x" * 300_000}, what="trigger input")
    deep = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(VariableError, match="nested deeper"):
        check_data(deep, what="trigger input")
    with pytest.raises(VariableError, match="not plain JSON"):
        check_data({"x": float("nan")}, what="trigger input")


def test_rendered_output_size_is_capped():
    context = {"trigger": {"big": "y" * 200_000}, "user": {}, "steps": {}}
    with pytest.raises(VariableError, match=r"larger than|limit"):
        render_value(["{{ trigger.big }}" * 6], context)
    with pytest.raises(VariableError, match="limit"):
        render_value(["{{ trigger.big }}"] * 6, context)
