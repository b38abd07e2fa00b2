"""POST /{code}: verify a link's password, limit guessing, then count the view atomically."""

from __future__ import annotations

from urllib.parse import parse_qs

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from redirector.app import Resolution
from shared.scripts import ResolveMode, ResolveStatus
from shared.store import UNAVAILABLE

# Wrong tries allowed per client and link in one window; the next one gets 429.
CLIENT_FAILURE_LIMIT = 5
# Wrong tries allowed per link from all clients together in one window: a ceiling on
# distributed guessing. Each window starts at its first failure and is never extended,
# so a lock-out ends by itself.
LINK_FAILURE_LIMIT = 100
FAILURE_WINDOW_SECONDS = 15 * 60
MAX_PASSWORD_BODY = 8 * 1024


class _BadBody(Exception):
    pass


async def read_password(request: Request) -> str | None:
    """The `password` form field or JSON member; None when absent."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_PASSWORD_BODY:
            raise _BadBody()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            data = msgspec.json.decode(body)
        except msgspec.DecodeError:
            raise _BadBody() from None
        value = data.get("password") if isinstance(data, dict) else None
        return value if isinstance(value, str) else None
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise _BadBody() from None
    values = fields.get("password")
    return values[0] if values else None


async def submit(request: Request) -> Response:
    state = request.app.state
    responder = state.responder
    code = request.path_params["code"]
    from shared.keys import is_valid_code

    if not is_valid_code(code):
        return responder.not_found(request)
    client = request.client.host if request.client else "unknown"
    client_key = state.keys.password_failures(code, client)
    link_key = state.keys.password_failures_all(code)
    try:
        retry_after = await _locked_for(state.redis, client_key, link_key)
        if retry_after:
            return _too_many(request, retry_after)
        peek: Resolution = await state.resolver.resolve(code, ResolveMode.PEEK)
        if peek.status is ResolveStatus.OK:
            # No password on this link: a POST follows it like a GET would.
            resolution = await state.resolver.resolve(code, ResolveMode.COUNT)
            return responder.outcome(request, resolution, redirect_status=303)
        if peek.status is not ResolveStatus.PASSWORD_REQUIRED:
            return responder.outcome(request, peek)
        try:
            password = await read_password(request)
        except _BadBody:
            return responder.password_form(request, "Enter the password.", status=400)
        if not password:
            return responder.password_form(request, "Enter the password.", status=401)
        assert peek.password_hash is not None
        matches, new_hash = await state.passwords.verify(peek.password_hash, password)
        if not matches:
            mine, _, ttl_ms = await state.scripts.run(
                "record_password_failure", [client_key, link_key], [FAILURE_WINDOW_SECONDS]
            )
            state.metrics.inc("securelink_resolutions_total", "wrong_password")
            return responder.password_form(request, "That password is not right.", status=401)
        if new_hash is not None:
            await state.scripts.run(
                "rehash_password", [state.keys.link(code)], [peek.password_hash, new_hash]
            )
        # Verified: the counting call re-checks expiry, revocation and remaining views.
        resolution = await state.resolver.resolve(code, ResolveMode.COUNT_VERIFIED)
    except UNAVAILABLE:
        return responder.unavailable(request)
    state.metrics.inc("securelink_resolutions_total", resolution.status.name.lower())
    return responder.outcome(request, resolution, redirect_status=303)


async def _locked_for(redis: object, client_key: str, link_key: str) -> int:
    """Seconds until this client may try again, or 0."""
    pipe = redis.pipeline(transaction=False)  # type: ignore[attr-defined]
    pipe.get(client_key)
    pipe.pttl(client_key)
    pipe.get(link_key)
    pipe.pttl(link_key)
    mine, mine_ttl, all_, all_ttl = await pipe.execute()
    wait_ms = 0
    if mine is not None and int(mine) >= CLIENT_FAILURE_LIMIT:
        wait_ms = max(wait_ms, mine_ttl)
    if all_ is not None and int(all_) >= LINK_FAILURE_LIMIT:
        wait_ms = max(wait_ms, all_ttl)
    return max(1, -(-wait_ms // 1000)) if wait_ms else 0


def _too_many(request: Request, retry_after: int) -> Response:
    responder = request.app.state.responder
    return responder.error(
        request,
        429,
        "Too many wrong passwords. Try again later.",
        {"Retry-After": str(retry_after)},
    )
