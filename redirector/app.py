"""The redirector: GET /{code} runs one atomic script call, then redirects."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from redirector import pages, previews
from redirector.cluster_pipeline import ClusterPipeline
from redirector.downloads import Downloads
from redirector.hotpath import RESOLVED, HotPath
from redirector.negotiation import prefers_json
from redirector.pipeline import ScriptPipeline
from shared import health
from shared.errors import CatchAll, error_body, json_response
from shared.files import files_dir
from shared.keys import Keys, is_valid_code
from shared.metrics import Metrics, RequestTimer
from shared.scripts import ResolveMode, ResolveStatus, ScriptRunner, load_scripts
from shared.security_headers import SecurityHeaders
from shared.settings import Settings
from shared.store import UNAVAILABLE, connect
from shared.urls import ascii_url

NO_STORE = "private, no-store"


@dataclass(frozen=True, slots=True)
class Resolution:
    status: ResolveStatus
    target: str | None = None
    is_file: bool = False
    file_name: str | None = None
    file_size: int | None = None
    content_type: str | None = None
    password_hash: str | None = None


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class Resolver:
    """The one script call a request makes.

    Through the pipeline (one connection, concurrent calls share writes, its own timeouts) on a
    single server, and through one such pipeline per primary on Redis Cluster; through plain
    redis-py (one call at a time, bounded here) only where a test asks for it.
    """

    def __init__(
        self,
        scripts: ScriptRunner | ScriptPipeline | ClusterPipeline,
        keys: Keys,
        settings: Settings,
    ):
        self.scripts = scripts
        self.keys = keys
        self.retention = str(settings.retention_seconds)
        self.deadline = settings.redis_timeout_ms / 1000 * 2
        self.pipelined = isinstance(scripts, ScriptPipeline | ClusterPipeline)

    def call(self, code: str, mode: ResolveMode) -> Awaitable[Any]:
        """The script's raw reply; the pipelines bound their own wait, redis-py does not."""
        keys, args = [self.keys.link(code)], [int(mode), self.retention]
        if self.pipelined:
            return self.scripts.run("resolve_link", keys, args)
        return self._bounded(keys, args)

    async def _bounded(self, keys: list[str], args: list[Any]) -> Any:
        async with asyncio.timeout(self.deadline):
            return await self.scripts.run("resolve_link", keys, args)

    async def resolve(self, code: str, mode: ResolveMode) -> Resolution:
        return self.parse(await self.call(code, mode))

    async def resolve_once(self, request: Request, code: str, mode: ResolveMode) -> Resolution:
        """What the hot path's call gave when it made one (never resolve twice), else a call."""
        ready = request.scope.pop(RESOLVED, None)
        if ready is None:
            return await self.resolve(code, mode)
        if isinstance(ready, BaseException):
            raise ready
        return self.parse(ready)

    @staticmethod
    def parse(reply: list[Any]) -> Resolution:
        status = ResolveStatus(reply[0])
        if len(reply) == 1:
            return Resolution(status)
        # Lua drops trailing nils on some servers: absent fields may be missing, not None.
        reply = [*reply, *[None] * (7 - len(reply))]
        size = _text(reply[4])
        return Resolution(
            status,
            target=_text(reply[1]),
            is_file=reply[2] == b"f",
            file_name=_text(reply[3]),
            file_size=int(size) if size is not None else None,
            content_type=_text(reply[5]),
            password_hash=_text(reply[6]) if len(reply) > 6 else None,
        )


_GONE_MESSAGES = {
    ResolveStatus.EXPIRED: "This link has expired.",
    ResolveStatus.EXHAUSTED: "This link has reached its view limit.",
    ResolveStatus.REVOKED: "This link has been revoked.",
}


def always_headers(settings: Settings) -> dict[str, str]:
    """On every redirector response, health and metrics too; a handler's own values win."""
    return {"X-Content-Type-Options": "nosniff", "Referrer-Policy": settings.referrer_policy}


class Responder:
    """Turns outcomes into responses: HTML pages, or JSON when the client prefers it."""

    def __init__(self, settings: Settings) -> None:
        self.common = always_headers(settings)
        self.downloads = Downloads(files_dir(settings))

    def error(
        self, request: Request, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        all_headers = {**self.common, "Cache-Control": "no-store", **(headers or {})}
        body = error_body(status, message)
        if prefers_json(request.headers.get("accept", "")):
            return json_response(status, body, all_headers)
        all_headers.update(pages.PAGE_HEADERS)
        return Response(
            pages.message_page(body["error"], message), status, all_headers, media_type="text/html"
        )

    def not_found(self, request: Request) -> Response:
        return self.error(request, 404, "No link has this code.")

    def outcome(
        self, request: Request, resolution: Resolution, redirect_status: int = 302
    ) -> Response:
        status = resolution.status
        if status is ResolveStatus.OK:
            assert resolution.target is not None
            if resolution.is_file:
                return self.file(request, resolution)
            return self.redirect(resolution.target, redirect_status)
        if status is ResolveStatus.NOT_FOUND:
            return self.not_found(request)
        if status is ResolveStatus.PASSWORD_REQUIRED:
            return self.password_form(request)
        return self.error(request, 410, _GONE_MESSAGES[status])

    def redirect(self, target: str, status: int = 302) -> Response:
        """The redirect; redirector/hotpath.py sends the same headers from a template of it."""
        if not target.isascii():  # stored before targets were made ASCII; Latin-1 would fail
            target = ascii_url(target)
        headers = {**self.common, "Location": target, "Cache-Control": NO_STORE}
        return Response(status_code=status, headers=headers)

    def password_form(
        self, request: Request, error: str | None = None, status: int = 200
    ) -> Response:
        if prefers_json(request.headers.get("accept", "")):
            return self.error(request, 401, error or "Password required")
        headers = {**self.common, **pages.PAGE_HEADERS}
        return Response(pages.password_page(error), status, headers, media_type="text/html")

    def file(self, request: Request, resolution: Resolution) -> Response:
        """The view is already counted; a file missing on disk is as gone as the link."""
        assert resolution.target is not None
        response = self.downloads.response(
            resolution.target,
            resolution.file_name,
            resolution.content_type,
            {**self.common, "Cache-Control": NO_STORE},
        )
        if response is None:
            return self.error(request, 410, "This file is no longer available.")
        return response

    def unavailable(self, request: Request) -> Response:
        message = "The service is busy. Try again in a moment."
        return self.error(request, 503, message, {"Retry-After": "1"})


async def follow(request: Request) -> Response:
    """GET counts one view; HEAD answers the same, counting nothing."""
    state = request.app.state
    responder: Responder = state.responder
    code = request.path_params["code"]
    if not is_valid_code(code):
        return responder.not_found(request)
    if previews.request_is_preview(request):
        return await previews.preview_response(request, code)
    mode = ResolveMode.PEEK if request.method == "HEAD" else ResolveMode.COUNT
    try:
        resolution = await state.resolver.resolve_once(request, code, mode)
    except UNAVAILABLE as exc:
        state.metrics.redis_error(exc)
        state.metrics.resolved("unavailable")
        return responder.unavailable(request)
    state.metrics.resolved(resolution.status.name.lower())
    return responder.outcome(request, resolution)


async def http_error(request: Request, exc: Exception) -> Response:
    """Unmatched paths and methods get the same pages as everything else."""
    assert isinstance(exc, HTTPException)
    responder: Responder = request.app.state.responder
    if exc.status_code == 404:
        return responder.not_found(request)
    return responder.error(request, exc.status_code, str(exc.detail), dict(exc.headers or {}))


async def submit_password(request: Request) -> Response:
    from redirector.password import submit

    return await submit(request)


class Redirector(Starlette):
    """Starlette, with the hot path in front: plain redirects skip routing and middleware."""

    hot_path: HotPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot_path = self.hot_path
        if hot_path is not None and scope["type"] == "http" and await hot_path(scope, send):
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings) -> Starlette:
    """The redirector; Redis and the scripts are made in the lifespan."""
    scripts = load_scripts()

    @contextlib.asynccontextmanager
    async def lifespan(app: Redirector) -> AsyncIterator[None]:
        from shared.passwords import Passwords  # argon2 stays off the hot path's imports

        redis = connect(settings)
        keys = Keys(settings.key_prefix)
        runner = ScriptRunner(redis, scripts)
        timeout = settings.redis_timeout_ms / 1000
        resolving: ScriptPipeline | ClusterPipeline
        if settings.redis_cluster:
            resolving = ClusterPipeline(
                redis,
                settings.require_redis_url(),
                scripts,
                timeout=timeout,
                on_batch=metrics.batch_sizes().observe,
            )
            await resolving.start()
        else:
            resolving = ScriptPipeline(
                settings.require_redis_url(),
                scripts,
                timeout=timeout,
                on_batch=metrics.batch_sizes().observe,
            )
        app.state.settings = settings
        app.state.redis = redis
        app.state.keys = keys
        app.state.scripts = runner
        app.state.metrics = metrics
        app.state.resolver = Resolver(resolving, keys, settings)
        app.state.responder = Responder(settings)
        app.hot_path = HotPath(app.state.resolver.call, metrics, app.state.responder, always)
        app.state.passwords = Passwords(settings.argon2_profile, settings.hash_threads)
        try:
            yield
        finally:
            app.hot_path = None
            metrics.close()
            app.state.passwords.close()
            await resolving.aclose()
            await redis.aclose()

    always = always_headers(settings)
    metrics = Metrics("redirector")
    routes = [
        *health.ROUTES,
        Route("/{code}", follow, methods=["GET", "HEAD"]),
        Route("/{code}", submit_password, methods=["POST"]),
    ]
    app = Redirector(
        routes=routes,
        middleware=[
            Middleware(RequestTimer, metrics=metrics, routes=routes),
            Middleware(
                SecurityHeaders,
                headers=always,
                html_headers={"Content-Security-Policy": pages.CONTENT_SECURITY_POLICY},
            ),
            Middleware(CatchAll),
        ],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    # "/{code}/" is not a code: 404, not Starlette's 307 to a URL built from the Host header.
    app.router.redirect_slashes = False
    return app


def factory() -> Starlette:
    """uvicorn's entry: settings from the environment, once per worker process."""
    return create_app(Settings.from_env())
