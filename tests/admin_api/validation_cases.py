"""The CreateLinkRequestDto rules as (request fields, expected errors): one table for the in-process
tests and the acceptance tests over real HTTP."""

from __future__ import annotations

from typing import Any

FUTURE = "2099-01-01T00:00:00Z"
PAST = "2020-01-01T00:00:00Z"
URL = "https://example.com/"

BLANK = "targetUrl: must not be blank"
BAD_URL = "targetUrl: must be a valid URL"
NOT_FUTURE = "expiresAt: must be a future date"
BAD_DATE = "expiresAt: must be an ISO 8601 date-time with offset"
NOT_POSITIVE = "maxViews: must be greater than 0"
NOT_INTEGER = "maxViews: must be an integer"
TOO_MANY = "maxViews: must be at most 2147483647"
BAD_PASSWORD = "password: must be 1 to 1024 characters"
BAD_CODE = "customCode: must match [A-Za-z0-9_-]{4,64}"

# Each case fails on one field; the id names the rule.
REJECTED: list[tuple[str, dict[str, Any], str]] = [
    ("target-missing", {}, BLANK),
    ("target-null", {"targetUrl": None}, BLANK),
    ("target-empty", {"targetUrl": ""}, BLANK),
    ("target-spaces", {"targetUrl": "   "}, BLANK),
    ("target-relative", {"targetUrl": "example.com/a"}, BAD_URL),
    ("target-path-only", {"targetUrl": "/a/b"}, BAD_URL),
    ("target-ftp", {"targetUrl": "ftp://example.com/"}, BAD_URL),
    ("target-javascript", {"targetUrl": "javascript:alert(1)"}, BAD_URL),
    ("target-data", {"targetUrl": "data:text/html,hi"}, BAD_URL),
    ("target-no-host", {"targetUrl": "https://"}, BAD_URL),
    ("target-inner-space", {"targetUrl": "https://exa mple.com/"}, BAD_URL),
    ("target-tab", {"targetUrl": "https://example.com/a\tb"}, BAD_URL),
    ("target-newline", {"targetUrl": "https://example.com/a\r\nSet-Cookie: x=1"}, BAD_URL),
    ("target-nul", {"targetUrl": "https://example.com/\u0000"}, BAD_URL),
    ("target-bad-port", {"targetUrl": "https://example.com:99999/"}, BAD_URL),
    ("target-too-long", {"targetUrl": URL + "a" * (2049 - len(URL))}, BAD_URL),
    ("target-number", {"targetUrl": 42}, BAD_URL),
    ("target-object", {"targetUrl": {"href": URL}}, BAD_URL),
    # Hosts no browser would resolve, or that cannot be real (issue 13, item 4).
    ("target-host-leading-hyphen", {"targetUrl": "https://-a.example/"}, BAD_URL),
    ("target-host-trailing-hyphen", {"targetUrl": "https://a-.example/"}, BAD_URL),
    ("target-host-bare-xn", {"targetUrl": "https://xn--.example/"}, BAD_URL),
    ("target-host-bad-punycode", {"targetUrl": "https://xn--zz-.example/"}, BAD_URL),
    ("target-port-zero", {"targetUrl": "https://example.com:0/"}, BAD_URL),
    ("target-ipv6-trailing-text", {"targetUrl": "https://[::1]x/"}, BAD_URL),
    ("target-ipv6-future", {"targetUrl": "https://[v1.x]/"}, BAD_URL),
    ("target-host-dots", {"targetUrl": "https://.../"}, BAD_URL),
    ("target-host-empty-label", {"targetUrl": "https://a..example/"}, BAD_URL),
    ("target-host-middle-dot", {"targetUrl": "https://x\u00b7y.com/"}, BAD_URL),
    ("target-host-arabic-digits", {"targetUrl": "https://\u0661\u0662\u0663.com/"}, BAD_URL),
    ("target-host-devanagari-digits", {"targetUrl": "https://\u0967\u0968.com/"}, BAD_URL),
    ("target-host-fullwidth-digits", {"targetUrl": "https://a.\uff11\uff12/"}, BAD_URL),
    ("expires-past", {"targetUrl": URL, "expiresAt": PAST}, NOT_FUTURE),
    ("expires-no-offset", {"targetUrl": URL, "expiresAt": "2099-01-01T00:00:00"}, BAD_DATE),
    ("expires-date-only", {"targetUrl": URL, "expiresAt": "2099-01-01"}, BAD_DATE),
    ("expires-words", {"targetUrl": URL, "expiresAt": "tomorrow"}, BAD_DATE),
    ("expires-epoch", {"targetUrl": URL, "expiresAt": 4070908800}, BAD_DATE),
    ("expires-empty", {"targetUrl": URL, "expiresAt": ""}, BAD_DATE),
    ("expires-bad-offset", {"targetUrl": URL, "expiresAt": "2099-01-01T00:00:00+25:00"}, BAD_DATE),
    (
        "expires-past-year-9999",
        {"targetUrl": URL, "expiresAt": "9999-12-31T23:59:59-14:00"},
        BAD_DATE,
    ),
    ("views-zero", {"targetUrl": URL, "maxViews": 0}, NOT_POSITIVE),
    ("views-negative", {"targetUrl": URL, "maxViews": -5}, NOT_POSITIVE),
    ("views-over-int32", {"targetUrl": URL, "maxViews": 2147483648}, TOO_MANY),
    ("views-huge", {"targetUrl": URL, "maxViews": 10**30}, TOO_MANY),
    ("views-fraction", {"targetUrl": URL, "maxViews": 1.5}, NOT_INTEGER),
    ("views-string", {"targetUrl": URL, "maxViews": "5"}, NOT_INTEGER),
    ("views-boolean", {"targetUrl": URL, "maxViews": True}, NOT_INTEGER),
    ("password-empty", {"targetUrl": URL, "password": ""}, BAD_PASSWORD),
    ("password-too-long", {"targetUrl": URL, "password": "x" * 1025}, BAD_PASSWORD),
    ("password-number", {"targetUrl": URL, "password": 1234}, BAD_PASSWORD),
    ("code-too-short", {"targetUrl": URL, "customCode": "abc"}, BAD_CODE),
    ("code-too-long", {"targetUrl": URL, "customCode": "a" * 65}, BAD_CODE),
    ("code-space", {"targetUrl": URL, "customCode": "ab cd"}, BAD_CODE),
    ("code-slash", {"targetUrl": URL, "customCode": "ab/cd"}, BAD_CODE),
    ("code-dot", {"targetUrl": URL, "customCode": "ab.cd"}, BAD_CODE),
    ("code-brace", {"targetUrl": URL, "customCode": "{abcd}"}, BAD_CODE),
    ("code-unicode", {"targetUrl": URL, "customCode": "ähnlich"}, BAD_CODE),
    ("code-empty", {"targetUrl": URL, "customCode": ""}, BAD_CODE),
    ("code-number", {"targetUrl": URL, "customCode": 12345}, BAD_CODE),
]

# Every field wrong at once: every error, in field order.
ALL_WRONG: dict[str, Any] = {
    "customCode": "x",
    "password": "",
    "maxViews": 0,
    "expiresAt": PAST,
    "targetUrl": " ",
}
ALL_WRONG_ERRORS = [BLANK, NOT_FUTURE, NOT_POSITIVE, BAD_PASSWORD, BAD_CODE]

# The edges of each rule that must still pass.
ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("target-2048-chars", {"targetUrl": URL + "a" * (2048 - len(URL))}),
    ("target-http-with-port-query", {"targetUrl": "http://example.com:8080/p?q=1#f"}),
    ("target-ipv6", {"targetUrl": "http://[2001:db8::1]/"}),
    ("target-upper-scheme", {"targetUrl": "HTTPS://example.com/"}),
    ("expires-offset", {"targetUrl": URL, "expiresAt": "2099-06-30T12:00:00+02:00"}),
    ("expires-fraction", {"targetUrl": URL, "expiresAt": "2099-06-30T12:00:00.250Z"}),
    ("views-one", {"targetUrl": URL, "maxViews": 1}),
    ("views-int32-max", {"targetUrl": URL, "maxViews": 2147483647}),
    ("views-whole-float", {"targetUrl": URL, "maxViews": 5.0}),
    ("password-one-char", {"targetUrl": URL, "password": "x"}),
    ("password-1024-chars", {"targetUrl": URL, "password": "é" * 1024}),
    ("code-4-chars", {"targetUrl": URL, "customCode": "a-_Z"}),
    ("code-64-chars", {"targetUrl": URL, "customCode": "Z" * 64}),
    ("nulls-are-unset", {"targetUrl": URL, "expiresAt": None, "maxViews": None, "password": None}),
]

# Bodies that are not a JSON object.
MALFORMED: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("truncated", b'{"targetUrl": "https://example.com/"'),
    ("not-json", b"targetUrl=https://example.com/"),
    ("array", b'[{"targetUrl": "https://example.com/"}]'),
    ("string", b'"https://example.com/"'),
    ("null", b"null"),
    ("number", b"42"),
    ("bad-utf8", b'{"targetUrl": "https://example.com/\xff"}'),
    ("trailing-garbage", b'{"targetUrl": "https://example.com/"} x'),
    # A later value would win silently (issue 13): a name given twice is malformed.
    ("duplicate-key", b'{"targetUrl": "https://a.example/", "targetUrl": "https://b.example/"}'),
    (
        "duplicate-escaped-key",
        b'{"maxViews": 1, "\\u006daxViews": 1000, "targetUrl": "https://a.example/"}',
    ),
]


def validation_body(errors: list[str]) -> dict[str, Any]:
    return {"status": 400, "error": "Bad Request", "message": "Validation failed", "errors": errors}


MALFORMED_BODY = {"status": 400, "error": "Bad Request", "message": "Malformed JSON body"}
