"""The redirector's wiring: routes, middleware, the lifespan that makes its services, the factory.

GET /{code} runs one atomic script call, then redirects (redirector/hotpath.py for plain
redirects, redirector/handlers.py for everything else). Nothing imports this module.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from redirector import pages, password
from redirector.handlers import follow, http_error
from redirector.hotpath import PLACEHOLDER, HotPath
from redirector.pipeline import ScriptPipeline
from redirector.resolver import Resolver
from redirector.responses import Responder, always_on_headers
from redirector.services import Services
from shared import health
from shared.errors import CatchAll
from shared.keys import Keys
from shared.metrics import Metrics, RequestTimer
from shared.scripts import ScriptRunner, load_scripts
from shared.security_headers import SecurityHeaders
from shared.settings import Settings
from shared.store import connect


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
        resolving: ScriptRunner | ScriptPipeline = runner
        if not settings.redis_cluster:  # the cluster client routes each call by key: no batching
            timeout = settings.redis_timeout_ms / 1000
            resolving = ScriptPipeline(
                settings.require_redis_url(),
                scripts,
                timeout=timeout,
                on_batch=metrics.batch_sizes().observe,
            )
        found = Services(
            settings=settings,
            redis=redis,
            keys=keys,
            scripts=runner,
            metrics=metrics,
            resolver=Resolver(resolving, keys, settings),
            responder=Responder(settings),
            passwords=Passwords(settings.argon2_profile, settings.hash_threads),
        )
        app.state.services = found
        redirect = found.responder.redirect(PLACEHOLDER)
        app.hot_path = HotPath(found.resolver.call, metrics, redirect, always_on)
        try:
            yield
        finally:
            app.hot_path = None
            metrics.close()
            found.passwords.close()
            if isinstance(resolving, ScriptPipeline):
                await resolving.aclose()
            await redis.aclose()

    always_on = always_on_headers(settings)
    metrics = Metrics("redirector")
    routes = [
        *health.ROUTES,
        Route("/{code}", follow, methods=["GET", "HEAD"]),
        Route("/{code}", password.submit, methods=["POST"]),
    ]
    app = Redirector(
        routes=routes,
        middleware=[
            Middleware(RequestTimer, metrics=metrics, routes=routes),
            Middleware(
                SecurityHeaders,
                headers=always_on,
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
