"""POST /{code}: verify a link's password, limit guessing, then count the view atomically.

Guessing limits (kept in Redis under the link's hash tag):
- one client on one link: 5 wrong passwords in a window; the 6th try gets 429 with
  Retry-After. A window is 15 minutes from its first failure and is never extended, so the
  lock-out ends by itself. A right password clears that client's own count.
- one link from all clients together: a token bucket of 20 checks refilled one every 3 s, a
  ceiling on distributed guessing: at most 1,200 checks an hour sustained (1,220 in any hour).
  A flood takes every token, yet once it stops the next token is at most 3 s away, so nobody
  can keep the rightful user out for longer than that (a hard lock of 15 minutes could).
A client is its IP address (see client_address for proxies), or the /64 network of an IPv6
address. Every client's counts of one link are fields of two hashes under the link's hash tag
(failures, checks running), so deleting the link removes them (Keys.owned_keys); each hash
holds at most MAX_TRACKED_CLIENTS clients (begin_password_attempt.lua says what gives way).
"""

from __future__ import annotations

import asyncio
import ipaddress
from functools import lru_cache
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from redirector.negotiation import prefers_json
from redirector.resolver import Resolution
from redirector.responses import Text
from redirector.services import Services, services
from shared import multipart
from shared.bodies import decode_json_object
from shared.keys import is_valid_code
from shared.scripts import AttemptStatus, ResolveMode, ResolveStatus
from shared.store import REDIS_UNAVAILABLE

CLIENT_FAILURE_LIMIT = 5
FAILURE_WINDOW_SECONDS = 15 * 60
LINK_BUCKET_CAPACITY = 20  # checks a link may have at once after a quiet spell
LINK_REFILL_MS = 3_000  # one more check every 3 s: 1,200 an hour, the longest wait 3 s
# A running check holds its place this long at most (a process that died mid-check frees it).
RUNNING_HOLD_MS = 30_000
# How long a request waits for earlier checks of the same client (or link) to finish.
BUSY_WAIT_SECONDS = 5.0
BUSY_POLL_SECONDS = 0.02
# Clients one link's counters keep at once. The bucket lets at most 20 + 300 checks through in a
# window, so with these numbers no live entry is ever dropped; the cap is for other settings.
MAX_TRACKED_CLIENTS = 1_000


def clock_ms() -> int | None:
    """Now for the guessing limits, ms; None: the Redis server's clock. Tests replace it."""
    return None


# 1024 characters of 4-byte UTF-8, percent-encoded, fit; any larger body (a multipart one
# included, preamble and epilogue too) gets 413.
MAX_PASSWORD_BODY = 16 * 1024


class BadBody(Exception):
    """The body is not a form or a JSON object we can read."""


class BodyTooLarge(Exception):
    pass


async def read_password(request: Request) -> str | None:
    """The `password` form field or JSON member; None when absent."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    # Every body is read whole under one cap before it is parsed, a multipart one included
    # (its preamble and epilogue are no exception).
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_PASSWORD_BODY:
            raise BodyTooLarge()
    if content_type == "multipart/form-data":
        return await _multipart_password(request, bytes(body))
    if content_type == "application/json" or content_type.endswith("+json"):
        data = decode_json_object(body)
        if data is None:
            raise BadBody()
        value = data.get("password")
        return value if isinstance(value, str) else None
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise BadBody() from None
    values = fields.get("password")
    return values[0] if values else None


async def _multipart_password(request: Request, body: bytes) -> str | None:
    try:
        form = await multipart.read_small_form(
            request.headers, body, max_fields=20, max_part_size=MAX_PASSWORD_BODY
        )
    except multipart.MalformedMultipart:
        raise BadBody() from None
    try:
        value = form.get("password")
    finally:
        await form.close()
    return value if isinstance(value, str) else None


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_FORWARDED_HOPS = 32  # a longer X-Forwarded-For chain is read from its right end only


def _address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]
) -> IPAddress | None:
    """The client's IP address: the socket peer, unless the peer is a trusted proxy.

    SECURELINK_TRUSTED_PROXIES is the only source of trust. Behind trusted proxies the client
    is the right-most X-Forwarded-For address that is not one of them (each proxy appends the
    address it saw, so everything left of that is the client's own say). Only a valid IP
    address is ever an identity: a hop that is not one (`attacker-1`) ends the walk, and the
    last trusted proxy stands for the client (so garbage never makes a new client).
    """
    address = _address(peer) if peer else None
    if address is None or not trusted or forwarded_for is None:
        return address
    if not _is_trusted(address, trusted):
        return address
    hops = forwarded_for.rsplit(",", MAX_FORWARDED_HOPS)
    for hop in reversed(hops):
        forwarded = _address(hop)
        if forwarded is None:
            return address
        address = forwarded
        if not _is_trusted(address, trusted):
            return address
    return address


def _is_trusted(address: IPAddress, trusted: tuple[Network, ...]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in trusted)


@lru_cache(maxsize=4096)
def _identity(address: IPAddress) -> str:
    # Keyed by the parsed address (a few dozen bytes), never by a raw header string.
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_id(host: str) -> str | None:
    """Who is guessing: the IP address, or the /64 network of an IPv6 one (a whole
    /64 usually belongs to one subscriber, so single addresses would be free to switch).
    None when `host` is not an IP address."""
    address = _address(host)
    return None if address is None else _identity(address)


def request_client(request: Request) -> str:
    """The guessing identity of a request (see client_address)."""
    trusted = services(request).settings.trusted_proxies
    peer = request.client.host if request.client else None
    # Several X-Forwarded-For headers are one list, in order (RFC 9110, 5.3).
    forwarded = ",".join(request.headers.getlist("x-forwarded-for")) if trusted else None
    address = client_address(peer, forwarded, trusted)
    # No usable peer address at all (a Unix socket): all such requests are one client.
    return "unknown" if address is None else _identity(address)


async def submit(request: Request) -> Response:
    """Right password: 303 to the target and one view; wrong: 401 and the form again."""
    found = services(request)
    responder = found.responder
    code = request.path_params["code"]
    if not is_valid_code(code):
        return responder.not_found(request)
    try:
        peek = await found.resolver.resolve(code, ResolveMode.PEEK)
        if peek.status in (ResolveStatus.OK, ResolveStatus.CLICK_REQUIRED):
            # No password on this link: a POST follows it like a GET would, and is the click
            # of a click-to-open link (the only request that counts its view).
            resolution = await found.resolver.resolve_for(request, code, ResolveMode.COUNT_CLICKED)
            found.metrics.resolved(resolution.status.name.lower())
            return responder.outcome(request, resolution, redirect_status=303)
        if peek.status is not ResolveStatus.PASSWORD_REQUIRED:
            return responder.outcome(request, peek)
        try:
            password = await read_password(request)
        except BodyTooLarge:
            return responder.error(request, 413, Text.BODY_TOO_LARGE)
        except BadBody:
            return _ask_again(request, 400, Text.ENTER_PASSWORD, Text.MALFORMED_BODY)
        if not password:
            return _ask_again(request, 401, Text.ENTER_PASSWORD, Text.PASSWORD_REQUIRED)
        assert peek.password_hash is not None  # a peek that asks for a password carries it
        return await _verify_and_count(request, code, peek.password_hash, password)
    except REDIS_UNAVAILABLE as exc:
        found.metrics.redis_error(exc)
        found.metrics.resolved("unavailable")
        return responder.unavailable(request)


async def _verify_and_count(request: Request, code: str, stored: str, password: str) -> Response:
    """Check the password within the guessing limits; right, count the view and redirect."""
    found = services(request)
    keys = found.keys
    client = request_client(request)
    counters = [
        keys.password_failures(code),
        keys.password_checks(code),
        keys.password_pending(code),
    ]
    responder = found.responder
    status, wait_ms, ended = await _hold_a_place(found, code, counters, client)
    if ended is not None:
        # The link ran out of views (or was revoked) while this request waited for a place.
        return responder.outcome(request, ended)
    if status is AttemptStatus.LOCKED:
        found.metrics.resolved("password_locked")
        return _too_many(request, Text.LOCKED_OUT, -(-wait_ms // 1000))
    if status is AttemptStatus.BUSY:
        return _too_many(request, Text.TOO_BUSY, 1)
    # From here the place is held; if anything below fails it is freed by its expiry.
    matches, new_hash = await found.passwords.verify(stored, password)
    wrong = 0 if matches else 1
    now = clock_ms()
    await found.scripts.run(
        "finish_password_attempt",
        counters,
        [client, wrong, FAILURE_WINDOW_SECONDS, MAX_TRACKED_CLIENTS, "" if now is None else now],
    )
    if not matches:
        found.metrics.resolved("wrong_password")
        return _ask_again(request, 401, Text.WRONG_PASSWORD, Text.WRONG_PASSWORD)
    if new_hash is not None:
        await found.scripts.run("rehash_password", [keys.link(code)], [stored, new_hash])
    # Verified: this counting call re-checks expiry, revocation and remaining views.
    resolution = await found.resolver.resolve_for(request, code, ResolveMode.COUNT_VERIFIED)
    found.metrics.resolved(resolution.status.name.lower())
    return responder.outcome(request, resolution, redirect_status=303)


async def _hold_a_place(
    found: Services, code: str, counters: list[str], client: str
) -> tuple[AttemptStatus, int, Resolution | None]:
    """Hold a place for one check, waiting a little while earlier checks still run.

    While it waits, the link may run out of views to the checks ahead of it: then the link's
    own answer (410) comes back instead of a 429, as it would have without the wait.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BUSY_WAIT_SECONDS
    args = [
        client,
        CLIENT_FAILURE_LIMIT,
        LINK_BUCKET_CAPACITY,
        LINK_REFILL_MS,
        RUNNING_HOLD_MS,
        FAILURE_WINDOW_SECONDS,
        MAX_TRACKED_CLIENTS,
    ]
    while True:
        now = clock_ms()
        at = [*args, "" if now is None else now]
        status, wait_ms = await found.scripts.run("begin_password_attempt", counters, at)
        outcome = AttemptStatus(status)
        if outcome is not AttemptStatus.BUSY or loop.time() >= deadline:
            return outcome, int(wait_ms), None
        await asyncio.sleep(BUSY_POLL_SECONDS)
        peek = await found.resolver.resolve(code, ResolveMode.PEEK)
        if peek.status is not ResolveStatus.PASSWORD_REQUIRED:
            return outcome, 0, peek


def _ask_again(request: Request, status: int, html_message: str, json_message: str) -> Response:
    responder = services(request).responder
    if prefers_json(request.headers.get("accept", "")):
        return responder.error(request, status, json_message)
    return responder.password_form(request, html_message, status=status)


def _too_many(request: Request, message: str, retry_after: int) -> Response:
    responder = services(request).responder
    return responder.error(request, 429, message, {"Retry-After": str(max(1, retry_after))})
