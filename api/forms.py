"""The admin API console's form: which connection, which method, which Sage path, which JSON body."""

from __future__ import annotations

import json

from django import forms
from django.conf import settings

from api.console import METHODS, WRITE_METHODS
from connections.models import Connection
from connections.proxy import UnsafePath, split_sage_path


class ConnectionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, connection: Connection) -> str:
        state = "" if connection.is_active else f" [{connection.get_status_display()}]"
        return f"{connection.end_user.owner_label} — {connection.business_name or 'no business'}{state}"


class ApiConsoleForm(forms.Form):
    connection = ConnectionChoiceField(
        queryset=Connection.objects.select_related("end_user").order_by("end_user__display_name", "pk"),
        help_text="The call is sent with this connection's token, to its chosen business.",
    )
    method = forms.ChoiceField(choices=[(method, method) for method in METHODS], initial="GET")
    path = forms.CharField(
        label="Sage path",
        max_length=2000,
        initial="/contacts",
        help_text="Relative to Sage's API base (…/v3.1), with its query if any: /contacts?email=ann@example.com",
        widget=forms.TextInput(attrs={"size": 80, "autocomplete": "off", "spellcheck": "false"}),
    )
    body = forms.CharField(
        label="Body (JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80, "spellcheck": "false"}),
        help_text='For POST and PUT, e.g. {"contact": {…}}. GET sends none.',
    )

    def clean_path(self) -> str:
        path = self.cleaned_data["path"].strip()
        try:
            split_sage_path(path)
        except UnsafePath as unsafe:
            raise forms.ValidationError(f"This path cannot be sent: {unsafe.message}") from None
        return path

    def clean_body(self) -> bytes | None:
        text = self.cleaned_data["body"].strip()
        if not text:
            return None
        encoded = text.encode()
        limit = settings.SAGEINT_PROXY_MAX_BODY_BYTES
        if len(encoded) > limit:
            raise forms.ValidationError(
                f"The body is larger than {limit} bytes (SAGEINT_PROXY_MAX_BODY_BYTES)."
            )
        try:
            json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(f"The body is not valid JSON: {error}.") from None
        return encoded  # sent as typed, like the HTTP proxy's bodies (amounts keep their form)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("method") == "GET" and cleaned.get("body"):
            self.add_error("body", "A GET sends no body: empty it, or choose POST or PUT.")
        return cleaned

    @property
    def is_write(self) -> bool:
        return self.cleaned_data["method"] in WRITE_METHODS
