"""GET/HEAD /{code} of a plain redirect, answered before Starlette's routing and middleware.

A redirect is the one answer the redirector gives by the thousand, so it is sent here from
header lists built at start-up. Everything else (404 for codes that cannot exist, preview
bots, passwords, files, 410, 503, errors) goes on to the Starlette app, carrying the script's
reply in the scope when it was already asked: a request is never resolved twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from time import perf_counter

from starlette.responses import Response
from starlette.types import Message, Scope, Send

from redirector.prefetch import PURPOSE_HEADERS
from redirector.previews import is_preview_bot
from redirector.resolver import RESOLVED, ResolveCall, is_file_reply, is_view_limited
from redirector.visitors import device_class, referrer_host
from shared.keys import CODE_PATTERN
from shared.metrics import STARTED, Metrics, hot_increment, hot_observe
from shared.scripts import ResolveMode, ResolveReply, ResolveStatus

# The value Response templates carry in place of the target, swapped per request.
PLACEHOLDER = "\x00target\x00"
_EMPTY_BODY: Message = {"type": "http.response.body", "body": b""}
_OK = int(ResolveStatus.OK)


def template(
    response: Response, always_on: Mapping[str, str]
) -> tuple[list[tuple[bytes, bytes]], int]:
    """A response's headers, with those SecurityHeaders would add, and where the target sits.

    `response` is the redirect the app would send, built for PLACEHOLDER as its target.
    """
    headers = list(response.raw_headers)
    present = {name for name, _ in headers}
    headers += [
        (name.lower().encode(), value.encode())
        for name, value in always_on.items()
        if name.lower().encode() not in present
    ]
    for index, (_, value) in enumerate(headers):
        if value == PLACEHOLDER.encode("latin-1"):
            return headers, index
    raise ValueError("the response template does not carry the placeholder")


class HotPath:
    """Answers a plain redirect itself; returns False to let the app answer anything else."""

    def __init__(
        self,
        resolve: ResolveCall,
        metrics: Metrics,
        redirect: Response,
        always_on: Mapping[str, str],
        record: bool = True,
    ) -> None:
        """`redirect` is the app's redirect to PLACEHOLDER: the template every redirect copies.

        `record`: a view's referrer host and device class go with its call (stats are on).
        """
        self.resolve = resolve
        self.record = record
        self.status = redirect.status_code
        # Bound once: a redirect costs a few writes of memory-mapped values, no label lookup.
        self.count_ok = hot_increment(metrics.resolution("ok"))
        self.observe = hot_observe(metrics.duration("/{code}", self.status))
        self.headers, self.location_at = template(redirect, always_on)
        self.valid = CODE_PATTERN.fullmatch

    async def __call__(self, scope: Scope, send: Send) -> bool:
        started = perf_counter()
        method = scope["method"]
        if method == "GET":
            mode = ResolveMode.COUNT
        elif method == "HEAD":
            mode = ResolveMode.PEEK
        else:
            return False
        code = scope["path"][1:]
        if scope.get("root_path") or self.valid(code) is None:
            return False  # Starlette answers: its 404, or a route of its own
        user_agent = referer = ""
        for name, value in scope["headers"]:
            if name == b"user-agent":
                user_agent = value.decode("latin-1")
            elif name == b"referer":
                referer = value.decode("latin-1")
            elif name in PURPOSE_HEADERS and mode is ResolveMode.COUNT:
                return False  # a prefetch, perhaps: the app declines it, counting nothing
        if user_agent and is_preview_bot(user_agent):
            return False  # previews count no view and answer pages of their own
        visitor = None
        if self.record and mode is ResolveMode.COUNT:
            visitor = (referrer_host(referer), device_class(user_agent))
        scope[STARTED] = started  # the app's RequestTimer counts the time spent here too
        try:
            reply = await self.resolve(code, mode, visitor)
        except Exception as exc:
            scope[RESOLVED] = exc  # the app answers it: a 503, or the 500 with a reference id
            return False
        if reply[ResolveReply.STATUS] != _OK or is_file_reply(reply):
            scope[RESOLVED] = reply  # 404, 410, the password form, a file: the app answers
            return False
        if mode is ResolveMode.PEEK and is_view_limited(reply):
            scope[RESOLVED] = reply  # HEAD must not read the target without spending a view
            return False
        target = reply[ResolveReply.TARGET]
        if not target.isascii():
            scope[RESOLVED] = reply  # the Responder percent-encodes it
            return False
        self.count_ok()
        headers = self.headers.copy()
        headers[self.location_at] = (b"location", target)
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send(_EMPTY_BODY)
        self.observe(perf_counter() - started)
        return True
