"""Sage's error shape for the sandbox API (re-exported by sandbox.api, where views import it from)."""

from django.http import JsonResponse


class SageApiError(Exception):
    """Raise inside a sandbox API view to answer Sage's error list with this status."""

    def __init__(
        self,
        status: int,
        *,
        data_code: str,
        message: str,
        source: str = "",
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.data_code = data_code
        self.message = message
        self.source = source
        self.headers = headers or {}

    def as_response(self) -> JsonResponse:
        response = sage_error_response(
            self.status, data_code=self.data_code, message=self.message, source=self.source
        )
        for name, value in self.headers.items():
            response[name] = value
        return response


def sage_errors_response(status: int, errors: list[dict]) -> JsonResponse:
    """Sage's error body: a JSON list of {"$severity", "$dataCode", "$message", "$source"}."""
    body = [
        {
            "$severity": error.get("$severity", "error"),
            "$dataCode": error.get("$dataCode", ""),
            "$message": error.get("$message", ""),
            "$source": error.get("$source", ""),
        }
        for error in errors
    ]
    return JsonResponse(body, status=status, safe=False)


def sage_error_response(status: int, *, data_code: str, message: str, source: str = "") -> JsonResponse:
    return sage_errors_response(
        status, [{"$severity": "error", "$dataCode": data_code, "$message": message, "$source": source}]
    )
