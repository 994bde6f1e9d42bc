"""Messages for people that carry an error code or message from Sage keep it apart, at the end:
"Sage did not accept the sign-in. … [Sage: invalid_grant]". Logs and the API keep the whole string; pages and
the admin show the sentence and, on a quieter line of its own, the details (`{% message_with_details %}`).
"""

import re

_SAGE_DETAILS = re.compile(r"\s*\[Sage: (?P<details>[^\[\]]*)\]\s*$")


def with_sage_details(sentence: str, details: str) -> str:
    """`sentence` for people, with Sage's error code or message (`details`) kept apart at its end."""
    details = " ".join(details.replace("[", "(").replace("]", ")").split())
    return f"{sentence} [Sage: {details}]" if details else sentence


def split_sage_details(message: str) -> tuple[str, str]:
    """`(sentence, details)` of a message written by `with_sage_details`; details are "" when there are none."""
    message = message or ""
    match = _SAGE_DETAILS.search(message)
    if match is None:
        return message, ""
    return message[: match.start()], match["details"]
