"""GET/HEAD /{code} of a plain redirect, answered before Starlette's routing and middleware.

A redirect is the one answer the redirector gives by the thousand, so it is sent here from
header lists built at start-up (under uvicorn, written by the HTTP protocol itself:
shared/fast_lane.py). Everything else (404 for codes that cannot exist, preview
bots, passwords, files, 410, 503, errors) goes on to the Starlette app, carrying the script's
reply in the scope when it was already asked: a request is never resolved twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Mapping
from time import perf_counter
from typing import Any

from starlette.responses import Response
from starlette.types import Message, Scope, Send

from redirector.prefetch import PURPOSE_HEADERS
from redirector.previews import is_preview_bot
from redirector.recording import Visitor
from redirector.resolver import RESOLVED, ResolveCall, is_file_reply, is_view_limited
from redirector.visitors import device_class, referrer_host
from shared.keys import CODE_PATTERN
from shared.metrics import STARTED, Metrics, hot_increment, hot_observe
from shared.scripts import ResolveMode, ResolveReply, ResolveStatus

# The value Response templates carry in place of the target, swapped per request.
PLACEHOLDER = "\x00target\x00"
_EMPTY_BODY: Message = {"type": "http.response.body", "body": b""}
_OK = int(ResolveStatus.OK)
# What an HTTP server refuses in a header value (uvicorn raises): such a target is the app's.
_UNSAFE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


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
    """Answers a plain redirect itself; returns False to let the app answer anything else.

    Under uvicorn, shared/fast_lane.py asks it first (`offer`, then `head`, then `sent`) and
    writes the redirect straight to the socket; `__call__` is the same answer through ASGI,
    for granian and for requests the fast lane leaves to the app.
    """

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
        # The same headers as HTTP/1.1 lines, for the fast lane: before and after Location.
        lines = [name + b": " + value + b"\r\n" for name, value in self.headers]
        self.head_before = b"".join(lines[: self.location_at]) + b"location: "
        self.head_after = b"\r\n" + b"".join(lines[self.location_at + 1 :])
        self.valid = CODE_PATTERN.fullmatch

    def asks(self, scope: Scope) -> tuple[str, ResolveMode, Visitor | None] | None:
        """The script call of a plain GET or HEAD /{code}; None for what only the app answers."""
        method = scope["method"]
        if method == "GET":
            mode = ResolveMode.COUNT
        elif method == "HEAD":
            mode = ResolveMode.PEEK
        else:
            return None
        code = scope["path"][1:]
        if scope.get("root_path") or self.valid(code) is None:
            return None  # Starlette answers: its 404, or a route of its own
        user_agent = referer = ""
        for name, value in scope["headers"]:
            if name == b"user-agent":
                user_agent = value.decode("latin-1")
            elif name == b"referer":
                referer = value.decode("latin-1")
            elif name in PURPOSE_HEADERS and mode is ResolveMode.COUNT:
                return None  # a prefetch, perhaps: the app declines it, counting nothing
        if user_agent and is_preview_bot(user_agent):
            return None  # previews count no view and answer pages of their own
        visitor = None
        if self.record and mode is ResolveMode.COUNT:
            visitor = (referrer_host(referer), device_class(user_agent))
        return code, mode, visitor

    def target(self, scope: Scope, reply: Any) -> bytes | None:
        """The Location of a reply this path answers; else None, the reply left in the scope."""
        if (
            reply[ResolveReply.STATUS] != _OK
            or is_file_reply(reply)  # a file: the app streams it
            # HEAD must not read the target without spending a view
            or (scope["method"] == "HEAD" and is_view_limited(reply))
            or not reply[ResolveReply.TARGET].isascii()  # the Responder percent-encodes it
            or _UNSAFE.search(reply[ResolveReply.TARGET]) is not None
        ):
            scope[RESOLVED] = reply  # 404, 410, the password form, ...: the app answers
            return None
        target: bytes = reply[ResolveReply.TARGET]
        return target

    async def __call__(self, scope: Scope, send: Send) -> bool:
        """The redirect through ASGI: the fast lane's steps, awaited instead of called back."""
        if RESOLVED in scope:
            return False  # the fast lane asked already: what it found is the app's to answer
        pending = self.offer(scope)
        if pending is None:
            return False
        done = asyncio.ensure_future(pending)
        with contextlib.suppress(Exception):  # what it raised, `_found` reads from `done`
            await done
        target = self._found(scope, done)
        if target is None:
            return False
        headers = self.headers.copy()
        headers[self.location_at] = (b"location", target)
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send(_EMPTY_BODY)
        self.sent(scope)
        return True

    # --- the fast lane's side (shared/fast_lane.py): the same steps, without ASGI ---------------
    def offer(self, scope: Scope) -> Awaitable[Any] | None:
        """The script call's reply to come, when this request may be a plain redirect."""
        started = perf_counter()
        call = self.asks(scope)
        if call is None:
            return None
        scope[STARTED] = started  # the app's RequestTimer counts the time spent here too
        try:
            return self.resolve(*call)
        except Exception as exc:  # the app answers it, as after a failed await
            scope[RESOLVED] = exc
            return None

    def head(self, scope: Scope, reply: asyncio.Future[Any]) -> tuple[int, bytes] | None:
        """Status and header lines of the redirect (counted as served); None: the app answers."""
        target = self._found(scope, reply)
        if target is None:
            return None
        return self.status, self.head_before + target + self.head_after

    def _found(self, scope: Scope, reply: asyncio.Future[Any]) -> bytes | None:
        """The Location of a finished call's redirect, counted as served; None: the app answers
        (a 503 or the 500 for an error, 404, 410, the password form, a file: all in the scope)."""
        error = reply.exception()
        if error is not None:
            scope[RESOLVED] = error
            return None
        target = self.target(scope, reply.result())
        if target is None:
            return None
        self.count_ok()
        return target

    def sent(self, scope: Scope) -> None:
        """The redirect is written: its latency, as __call__ measures it."""
        self.observe(perf_counter() - scope[STARTED])
