from django.db import models
from django.utils import timezone


class RequestLog(models.Model):
    """One row per call the proxy sent (or tried to send) to Sage.

    What is kept is chosen so the log can be read by any operator: the path (Sage resource names and record ids)
    and the NAMES of the query parameters, never their values (`?email=…` or `?search=…` hold personal data),
    never a body, a header or a token.
    """

    class Source(models.TextChoices):
        HTTP = "http", "HTTP API"
        PYTHON = "python", "In-process SDK"
        TOOLS = "tools", "Agent tools API"
        MCP = "mcp", "MCP server"
        CONSOLE = "console", "Admin API console"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Deleting an end user removes their log with them.
    end_user = models.ForeignKey(
        "connections.EndUser", on_delete=models.CASCADE, related_name="request_logs", null=True, blank=True
    )
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.PYTHON)
    tool = models.CharField(max_length=64, blank=True, help_text="The agent tool that made the call, if any.")
    # A name, not a foreign key: the audit trail keeps who sent a call from the console after the account goes.
    staff_username = models.CharField(
        max_length=150,
        blank=True,
        help_text="The staff account that sent the call from the admin API console.",
    )
    method = models.CharField(max_length=8)
    path = models.CharField(
        max_length=1000, help_text="Relative to Sage's API base, without the query string."
    )
    query_names = models.CharField(
        max_length=500, blank=True, help_text="Names of the query parameters sent; their values are not kept."
    )
    status_code = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Sage's status, or the proxy's (409/502/504) when Sage gave no answer.",
    )
    error_code = models.CharField(max_length=40, blank=True, help_text="The proxy's error code, if any.")
    attempts = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="HTTP attempts made to Sage."
    )
    duration_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["end_user", "-created_at"])]
        permissions = [
            ("use_api_console", "Can send Sage API calls for a connection from the admin API console")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status_code or self.error_code}"
