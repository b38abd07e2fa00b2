"""The admin API: internal callers with API keys create, read, revoke and list links."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from admin_api.apikeys import ApiKeys, validate_key_request
from admin_api.auth import Authenticator, authorize, require_bootstrap
from admin_api.errors import (
    ApiError,
    MalformedBody,
    NotFound,
    NothingToChange,
    PayloadTooLarge,
    StorageUnavailable,
    ValidationFailed,
    api_error_handler,
)
from admin_api.files import create_file
from admin_api.idempotency import Idempotency, fingerprint
from admin_api.links import Links
from admin_api.openapi import openapi_document
from admin_api.services import Services, services
from admin_api.stats import StatsReader, get_link_stats, get_service_stats
from admin_api.sweeper import FileSweeper
from admin_api.tagged import delete_tagged, revoke_tagged, tag_page
from admin_api.validation import (
    PATCH_FIELDS,
    NewLink,
    validate_link_change,
    validate_link_request,
)
from admin_api.wire import (
    CURSOR_PATTERN,
    DEFAULT_PAGE,
    MAX_BATCH_BYTES,
    MAX_BATCH_LINKS,
    MAX_JSON_BYTES,
    MAX_PAGE,
)
from shared import health
from shared.bodies import decode_json_object
from shared.errors import CatchAll, error_body, json_response
from shared.files import files_dir
from shared.keys import TAG_PATTERN, Keys
from shared.metrics import Metrics, RequestTimer
from shared.models import Link, now_ms
from shared.passwords import Passwords
from shared.scripts import ScriptRunner, load_scripts
from shared.security_headers import SecurityHeaders
from shared.settings import Settings
from shared.store import REDIS_UNAVAILABLE, connect

Handler = Callable[[Request], Awaitable[Response]]
logger = logging.getLogger(__name__)
# Each step of shutdown (the sweeper's stop, closing Redis) waits at most this long.
SHUTDOWN_STEP_SECONDS = 5
# JSON only, never cached: creating a key returns its secret.
ADMIN_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
_LIMIT = re.compile(r"[0-9]{1,9}")
TAG_ERROR = f"tag: must match {TAG_PATTERN.pattern}"


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body: 413 past the limit (read no further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body exceeds {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"Request body exceeds {limit} bytes")
    return bytes(body)


async def read_json_object(request: Request, limit: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """The body as a JSON object: 413 past the limit (read no further), 400 for anything else."""
    body = await read_body(request, limit)
    data = decode_json_object(body)
    if data is None:
        raise MalformedBody()
    return data


def links_of(request: Request) -> Links:
    return services(request).links


def idempotent(handler: Handler, limit: int) -> Handler:
    """A JSON create with an optional Idempotency-Key: the first answer, replayed on a retry."""

    async def run(request: Request) -> Response:
        idempotency = services(request).idempotency
        record = idempotency.record_of(request)
        if record is None:
            return await handler(request)
        body = await read_body(request, limit)
        request._body = body  # the handler reads it again from here
        print_ = fingerprint(request.url.path, body)
        earlier = await idempotency.claim(record, print_)
        if earlier is not None:
            return idempotency.answer(earlier, print_)
        try:
            response = await handler(request)
        except ApiError as exc:
            response = await api_error_handler(request, exc)
        except BaseException:
            await idempotency.release(record)
            raise
        await idempotency.finish(record, print_, response)
        return response

    return run


async def create_link(request: Request) -> Response:
    data = await read_json_object(request)
    new = validate_link_request(data, now_ms=now_ms())
    link = await links_of(request).create(new)
    location = f"/api/v1/links/{link.short_code}"
    return json_response(201, link, {"Location": location})


async def create_batch(request: Request) -> Response:
    data = await read_json_object(request, MAX_BATCH_BYTES)
    items = data.get("links")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH_LINKS:
        raise ValidationFailed([f"links: must be a list of 1 to {MAX_BATCH_LINKS} links"])
    results: list[dict[str, Any]] = [{"index": index} for index in range(len(items))]
    valid: list[tuple[int, NewLink]] = []
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise ValidationFailed(["link: must be a JSON object"])
            valid.append((index, validate_link_request(item, now_ms=now_ms())))
        except ValidationFailed as exc:
            results[index].update(status=400, errors=exc.errors)
    outcomes = await links_of(request).create_many([new for _, new in valid]) if valid else []
    for (index, _), outcome in zip(valid, outcomes, strict=True):
        results[index].update(_batch_result(outcome))
    return json_response(200, {"results": results})


def _batch_result(outcome: Link | BaseException) -> dict[str, Any]:
    """An item's own answer: failing the whole batch would have its caller retry, and
    duplicate, the items that were created."""
    if isinstance(outcome, Link):
        return {"status": 201, "link": outcome}
    if isinstance(outcome, ApiError):
        return {"status": outcome.status, "errors": [outcome.message]}
    if isinstance(outcome, REDIS_UNAVAILABLE):
        return {"status": StorageUnavailable.status, "errors": [StorageUnavailable.default_message]}
    raise outcome


async def change_link(request: Request) -> Response:
    data = await read_json_object(request)
    if not any(name in data for name in PATCH_FIELDS):
        raise NothingToChange()
    links = links_of(request)
    code = request.path_params["code"]
    stored = await links.stored(code)
    is_file = stored.get(b"k") == b"f"
    change = validate_link_change(data, now_ms=now_ms(), is_file=is_file)
    return json_response(200, await links.change(code, change, stored))


async def delete_link(request: Request) -> Response:
    if not await links_of(request).delete(request.path_params["code"], services(request).sweeper):
        raise NotFound()
    return Response(status_code=204)


def _tag_of(value: Any) -> str:
    if not isinstance(value, str) or not TAG_PATTERN.fullmatch(value):
        raise ValidationFailed([TAG_ERROR])
    return value


async def revoke_by_tag(request: Request) -> Response:
    tag = _tag_of((await read_json_object(request)).get("tag"))
    return json_response(200, {"revoked": await revoke_tagged(links_of(request), tag)})


async def delete_by_tag(request: Request) -> Response:
    tag = _tag_of(request.query_params.get("tag"))
    deleted = await delete_tagged(links_of(request), tag, services(request).sweeper)
    return json_response(200, {"deleted": deleted})


async def get_link(request: Request) -> Response:
    link = await links_of(request).get(request.path_params["code"])
    return json_response(200, link)


async def revoke_link(request: Request) -> Response:
    link = await links_of(request).revoke(request.path_params["code"])
    return json_response(200, link)


async def list_links(request: Request) -> Response:
    errors = []
    raw_limit = request.query_params.get("limit", str(DEFAULT_PAGE))
    limit = int(raw_limit) if _LIMIT.fullmatch(raw_limit) else 0  # not isdigit(): "²" is a digit
    if not 1 <= limit <= MAX_PAGE:
        errors.append(f"limit: must be an integer from 1 to {MAX_PAGE}")
    cursor = request.query_params.get("cursor")  # "cursor=" is no cursor from an earlier page
    if cursor is not None and not CURSOR_PATTERN.fullmatch(cursor):
        errors.append("cursor: must be a nextCursor from an earlier page")
    tag = request.query_params.get("tag")
    if tag is not None and not TAG_PATTERN.fullmatch(tag):
        errors.append(TAG_ERROR)
    if errors:
        raise ValidationFailed(errors)
    if tag is not None:
        items, next_cursor = await tag_page(links_of(request), tag, limit, cursor)
    else:
        items, next_cursor = await links_of(request).page(limit, cursor)
    return json_response(200, {"items": items, "nextCursor": next_cursor})


async def create_key(request: Request) -> Response:
    require_bootstrap(request.state.caller)
    name, read_only = validate_key_request(await read_json_object(request))
    view, secret = await services(request).api_keys.create(name, read_only)
    return json_response(201, {**view, "key": secret}, {"Location": f"/api/v1/keys/{view['id']}"})


async def list_keys(request: Request) -> Response:
    require_bootstrap(request.state.caller)
    return json_response(200, {"items": await services(request).api_keys.list()})


async def delete_key(request: Request) -> Response:
    require_bootstrap(request.state.caller)
    await services(request).api_keys.disable(request.path_params["key_id"])
    return Response(status_code=204)


async def openapi(request: Request) -> Response:
    return json_response(200, openapi_document(services(request).settings))


class RequireApiKey:
    """Every /api/v1 route needs a valid Bearer key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            caller = await services(request).auth.authenticate(request)
            authorize(caller, scope["method"])
            scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, receive, send)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    body = error_body(exc.status_code, exc.detail)
    return json_response(exc.status_code, body, dict(exc.headers or {}))


async def unavailable(request: Request, exc: Exception) -> Response:
    services(request).metrics.redis_error(exc)
    return await api_error_handler(request, StorageUnavailable())


def resource(path: str, **handlers: Handler) -> Route:
    """One route per path, so a 405's Allow header names every method the path has."""

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return Route(path, dispatch, methods=list(handlers))


API_ROUTES = [
    resource(
        "/links",
        POST=idempotent(create_link, MAX_JSON_BYTES),
        GET=list_links,
        DELETE=delete_by_tag,
    ),
    Route("/links/batch", idempotent(create_batch, MAX_BATCH_BYTES), methods=["POST"]),
    Route("/links/revoke", revoke_by_tag, methods=["POST"]),
    resource("/links/{code}", GET=get_link, PATCH=change_link, DELETE=delete_link),
    Route("/links/{code}/revoke", revoke_link, methods=["POST"]),
    Route("/links/{code}/stats", get_link_stats, methods=["GET"]),
    Route("/stats", get_service_stats, methods=["GET"]),
    Route("/files", create_file, methods=["POST"]),
    resource("/keys", POST=create_key, GET=list_keys),
    Route("/keys/{key_id}", delete_key, methods=["DELETE"]),
]


def create_app(settings: Settings) -> Starlette:
    """The admin API; Redis, scripts and the hasher are made in the lifespan."""
    scripts = load_scripts()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redis = connect(settings)
        passwords = Passwords(settings.argon2_profile, settings.hash_threads)
        runner = ScriptRunner(redis, scripts)
        api_keys = ApiKeys(redis, Keys(settings.key_prefix))
        found = Services(
            settings=settings,
            redis=redis,
            metrics=metrics,
            api_keys=api_keys,
            auth=Authenticator(settings.admin_key, api_keys),
            links=Links(
                redis=redis,
                scripts=runner,
                passwords=passwords,
                settings=settings,
                metrics=metrics,
            ),
            stats=StatsReader(redis, Keys(settings.key_prefix)),
            idempotency=Idempotency(redis, runner, Keys(settings.key_prefix)),
            sweeper=FileSweeper(
                redis=redis,
                keys=Keys(settings.key_prefix),
                directory=files_dir(settings),
                grace_seconds=settings.file_grace_seconds,
            ),
        )
        app.state.services = found
        sweeping = asyncio.create_task(found.sweeper.run(settings.file_sweep_seconds))
        try:
            yield
        finally:
            # Shutdown is bounded: a sweep that swallowed its cancellation (a redis-py timeout
            # racing the cancel turns it into a TimeoutError, which the sweep survives) or a
            # connection that will not close must not keep the process from stopping.
            sweeping.cancel()
            done, _ = await asyncio.wait({sweeping}, timeout=SHUTDOWN_STEP_SECONDS)
            if not done:
                logger.warning("file sweeper did not stop within %s s", SHUTDOWN_STEP_SECONDS)
            passwords.close()
            metrics.close()
            try:
                async with asyncio.timeout(SHUTDOWN_STEP_SECONDS):
                    await redis.aclose()
            except TimeoutError:
                logger.warning("Redis connections did not close within %s s", SHUTDOWN_STEP_SECONDS)

    handlers: dict[Any, Any] = {ApiError: api_error_handler, HTTPException: http_error}
    for error in REDIS_UNAVAILABLE:
        handlers[error] = unavailable
    metrics = Metrics("admin_api")
    routes = [
        *health.ROUTES,
        Route("/openapi.json", openapi, methods=["GET"]),
        Mount(
            "/api/v1",
            app=Router(API_ROUTES, redirect_slashes=False),
            middleware=[Middleware(RequireApiKey)],
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestTimer, metrics=metrics, routes=routes),
            Middleware(SecurityHeaders, headers=ADMIN_HEADERS),
            Middleware(CatchAll),
        ],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    # "/api/v1" and "/api/v1/links/" are no routes: 404, not a 307 to a URL built from the Host
    # header (which a client or a proxy in between chooses).
    app.router.redirect_slashes = False
    return app


def factory() -> Starlette:
    """uvicorn's entry: settings from the environment, once per worker process."""
    return create_app(Settings.from_env())
