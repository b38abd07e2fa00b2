"""The admin API over HTTP for the command line, and what its failures mean to an operator.

Exit statuses follow the contract: 1 when the API refused (4xx), 2 for bad usage, 3 when the
service or its storage is unavailable (5xx, connection refused, timeout).
"""

from __future__ import annotations

from typing import Any

import httpx

API_REFUSED = 1
BAD_USAGE = 2
UNAVAILABLE = 3
DEFAULT_URL = "http://127.0.0.1:8081"
TIMEOUT = httpx.Timeout(30.0, connect=5.0)

_HINTS = {
    400: "check the options and values named above",
    401: "check SECURELINK_ADMIN_KEY: it must be the admin key or a named API key",
    403: "this API key may not do that; use one that is not read-only, or the admin key",
    404: "check the code; `securelink list` shows the links there are",
    409: "choose another --code, or wait for the request already running",
    410: "that link has ended",
    413: "the request or file is larger than the service accepts",
    422: "use a new Idempotency-Key for a different request",
    429: "too many requests: wait a moment and try again",
}


class CliError(Exception):
    """A failure to report: a message, a hint, and the exit status."""

    def __init__(self, message: str, hint: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code


def api_error(response: httpx.Response) -> CliError:
    """The API's own message (and field errors) for a 4xx or 5xx answer."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    message = f"{status} {response.reason_phrase}"
    if isinstance(body, dict):
        if body.get("message"):
            message += f": {body['message']}"
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            message += "".join(f"\n  {error}" for error in errors)
    if status >= 500:
        hint = "the service or its storage is unavailable; retry shortly"
        return CliError(message, hint, UNAVAILABLE)
    return CliError(message, _HINTS.get(status, "the API refused the request"), API_REFUSED)


class AdminClient:
    """One connection pool to the admin API, with the Bearer key on every request."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=TIMEOUT,
        )

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The answer when it is 2xx; otherwise a CliError saying why."""
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise CliError(
                f"the admin API at {self.base_url} did not answer in time",
                "the service may be overloaded; retry shortly",
                UNAVAILABLE,
            ) from None
        except httpx.TransportError as exc:
            raise CliError(
                f"cannot reach the admin API at {self.base_url}: {exc}",
                "is it running? Set SECURELINK_ADMIN_URL to its address",
                UNAVAILABLE,
            ) from None
        if response.status_code >= 400:
            raise api_error(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()
