"""`{% load connection_display %}`: connection values as people read them, on pages and in the admin (whose
display methods call these functions directly)."""

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from ..sage_details import split_sage_details

register = template.Library()


@register.simple_tag
def message_with_details(message: str, element_id: str = "") -> SafeString:
    """The sentence, then Sage's details (if any) on a quieter line of their own."""
    sentence, details = split_sage_details(str(message))
    context = {"sentence": sentence, "details": details, "element_id": element_id}
    return render_to_string("connections/message_with_details.html", context)


@register.simple_tag
def business_list(connection) -> SafeString:
    """The connection's businesses as a list (name, lead business marked, id), not JSON."""
    return render_to_string("connections/business_list.html", {"businesses": connection.listed_businesses})
