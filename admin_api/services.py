"""What the admin API's handlers share, made once in the app's lifespan: one typed object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from admin_api.apikeys import ApiKeys
from admin_api.auth import Authenticator
from admin_api.idempotency import Idempotency
from admin_api.links import Links
from admin_api.stats import StatsReader
from admin_api.sweeper import FileSweeper
from shared.metrics import Metrics
from shared.settings import Settings


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    redis: Any  # redis.asyncio.Redis, or RedisCluster
    metrics: Metrics
    api_keys: ApiKeys
    auth: Authenticator
    links: Links
    stats: StatsReader
    sweeper: FileSweeper
    idempotency: Idempotency


def services(request: Request) -> Services:
    """The running app's services (set by the lifespan before the first request)."""
    found: Services = request.app.state.services
    return found
