"""Headers every response carries, errors and 404s included: one pure ASGI middleware, no copies."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class SecurityHeaders:
    """Adds each header the response does not already set (a handler's own value wins).

    `html_headers` go on text/html responses only: a page the handler forgot, or an uploaded
    HTML file, still gets a Content-Security-Policy.
    """

    def __init__(
        self,
        app: ASGIApp,
        headers: Mapping[str, str],
        html_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.app = app
        self.headers = _encoded(headers)
        self.html_headers = _encoded(html_headers or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", ())
                present = {name.lower(): value for name, value in headers}
                wanted = self.headers
                if present.get(b"content-type", b"").lower().startswith(b"text/html"):
                    wanted = [*wanted, *self.html_headers]
                extra = [pair for pair in wanted if pair[0] not in present]
                if extra:
                    message = {**message, "headers": [*headers, *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _encoded(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode(), value.encode()) for name, value in headers.items()]
