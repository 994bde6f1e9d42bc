"""Paths a caller might send to make the proxy reach another host, leave /v3.1/ or smuggle a request.

Each is given as the caller's in-process `path` argument; the HTTP tests put the same text after
/api/v1/proxy/sageaccounting/ (where the server decodes one layer of percent-encoding, as WSGI does).
"""

HOSTILE_PATHS = [
    # Absolute URLs and schemes
    "http://evil.example/contacts",
    "https://evil.example/v3.1/contacts",
    "HTTP://evil.example",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "evil.example:443/contacts",
    "contacts/http://evil.example",
    # Another host by authority tricks
    "//evil.example/contacts",
    "///evil.example/contacts",
    "/contacts@evil.example",
    "@evil.example/contacts",
    # Dot segments, plain
    "/../contacts",
    "/contacts/../../oauth/token",
    "/./contacts",
    "/contacts/.",
    "/contacts/..",
    "/...",
    "/..;/oauth/token",
    # Dot segments and slashes percent-encoded
    "/%2e%2e/oauth/token",
    "/%2E%2E/%2E%2E/admin/",
    "/%2e/contacts",
    "/.%2e/oauth/token",
    "/..%2foauth/token",
    "/contacts%2f..%2f..%2foauth%2ftoken",
    "/%2f%2fevil.example/contacts",
    # Double-encoded
    "/%252e%252e/oauth/token",
    "/%25252e%25252e/oauth/token",
    "/contacts%252f..%252f..%252fx",
    # Backslashes, raw and encoded
    "\\\\evil.example\\contacts",
    "/\\evil.example/contacts",
    "/contacts\\..\\..\\oauth\\token",
    "/contacts%5c..%5coauth",
    # Control characters (header injection, truncation)
    "/contacts\r\nHost: evil.example",
    "/contacts\x00.json",
    "/contacts\t",
    "/contacts\x7f",
    "/contacts%0d%0aX-Injected:%201",
    # Whitespace and look-alikes
    " /contacts",
    "/contacts /x",
    "/\uff0e\uff0e/oauth/token",
    "/contacts\u2044..\u2044x",
    # Encodings other servers decode: overlong UTF-8 and IIS %u for ".", a path parameter, userinfo
    "/%c0%ae%c0%ae/oauth/token",
    "/%u002e%u002e/oauth/token",
    "/contacts;evil=1",
    "user:pass@evil.example/contacts",
    "/contacts/\u2025/oauth",
    # Empty and fragment
    "",
    "/",
    "/contacts#../../oauth",
    "/contacts//x",
]
