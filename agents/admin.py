from django import forms
from django.contrib import admin

from agents.catalogue import TOOLS
from agents.models import ToolSettings


class ToolSettingsForm(forms.ModelForm):
    disabled_tools = forms.MultipleChoiceField(
        choices=[
            (name, f"{name}{' (writes to Sage)' if tool.writes else ''}") for name, tool in TOOLS.items()
        ],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Ticked tools are hidden from the tools API and the MCP server.",
    )

    class Meta:
        model = ToolSettings
        fields = ["read_only", "disabled_tools"]


@admin.register(ToolSettings)
class ToolSettingsAdmin(admin.ModelAdmin):
    form = ToolSettingsForm
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request):
        return not ToolSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
