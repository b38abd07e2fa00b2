"""What the redirector's handlers share, made once in the app's lifespan: one typed object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from redirector.recording import ServiceTotals
from redirector.resolver import Resolver
from redirector.responses import Responder
from shared.keys import Keys
from shared.metrics import Metrics
from shared.scripts import ScriptRunner
from shared.settings import Settings

if TYPE_CHECKING:  # argon2 stays off the hot path's imports; the lifespan imports it
    from shared.passwords import Passwords


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    redis: Any  # redis.asyncio.Redis, or RedisCluster
    keys: Keys
    scripts: ScriptRunner  # every script but resolve_link, which goes through the resolver
    metrics: Metrics
    resolver: Resolver
    responder: Responder
    passwords: Passwords
    # Totals counted in the process: 404s without a script call, and all of them on a cluster.
    totals: ServiceTotals | None = None


def services(request: Request) -> Services:
    """The running app's services (set by the lifespan before the first request)."""
    found: Services = request.app.state.services
    return found
