from django.db import models

from agents.catalogue import TOOLS


class ToolSettings(models.Model):
    """The one row saying which agent tools are exposed (HTTP tools API and MCP alike). No row: all of them."""

    SINGLETON_ID = 1

    read_only = models.BooleanField(
        default=False,
        help_text="Expose no tool that writes to Sage (create_contact, create_sales_invoice, "
        "record_customer_receipt), whatever is ticked below.",
    )
    disabled_tools = models.JSONField(
        default=list, blank=True, help_text="Names of the tools that are not exposed."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "agent tool settings"
        verbose_name_plural = "agent tool settings"

    def __str__(self) -> str:
        return "Agent tool settings"

    def save(self, *args, **kwargs) -> None:
        self.pk = self.SINGLETON_ID
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "ToolSettings":
        row = cls.objects.filter(pk=cls.SINGLETON_ID).first()
        return row if row is not None else cls(pk=cls.SINGLETON_ID)

    def exposes(self, name: str) -> bool:
        tool = TOOLS.get(name)
        if tool is None or name in self.disabled_tools:
            return False
        return not (self.read_only and tool.writes)
