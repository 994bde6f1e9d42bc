"""`POST /api/v1/connect/sessions`: the company's backend asks for a connect session for one of its users.

The answer holds the session's token once (only its hash is kept) and the connect link; the company's page hands
the token to connect.js (`Sageint.connect({token})`), or sends the user to the link.
"""

from __future__ import annotations

from django.http import JsonResponse

from api.errors import ApiError
from api.management_views import management_endpoint, read_management_body
from connections import connect_sessions

FIELDS = ("end_user_id", "name", "email", "allowed_origins", "return_url", "auto_return")


@management_endpoint("POST")
def create_session(request):
    body = read_management_body(request)
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise ApiError(
            400,
            "invalid_request",
            f"Unknown field(s): {', '.join(unknown)[:200]}. Send only {', '.join(FIELDS)}.",
        )
    try:
        issued = connect_sessions.create_connect_session(
            end_user_id=body.get("end_user_id"),
            name=body.get("name"),
            email=body.get("email"),
            allowed_origins=body.get("allowed_origins"),
            return_url=body.get("return_url"),
            auto_return=body.get("auto_return", False),
            api_key=request.api_key,
        )
    except connect_sessions.InvalidConnectSession as invalid:
        raise ApiError(400, "invalid_request", str(invalid)) from None
    session = issued.session
    response = JsonResponse(
        {
            "token": issued.token,
            "url": issued.url,
            "expires_at": session.expires_at.isoformat().replace("+00:00", "Z"),
            "end_user_id": session.end_user.external_id,
            "allowed_origins": session.allowed_origins,
            "return_url": session.return_url,
            "auto_return": session.auto_return,
        },
        status=201,
    )
    response["Cache-Control"] = "no-store"  # the token is in this answer and nowhere else
    return response
