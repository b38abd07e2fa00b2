"""The hot path in front of Starlette: same answers, one script call a request, never two."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import redis
import uvicorn

from redirector.app import Redirector as RedirectorApp
from redirector.app import create_app
from redirector.pipeline import ScriptPipeline
from redirector.recording import DayKeys, Recording
from redirector.resolver import Resolution, Resolver
from shared.cli import uvicorn_options
from shared.fast_lane import FastLaneProtocol
from shared.keys import Keys
from shared.scripts import ResolveMode, ResolveStatus, ScriptRunner, load_scripts
from shared.settings import Settings
from shared.store import connect
from tests.support.password_support import (
    TARGET,
    redirector,
    run,
    settings_for,
    store_link,
)

BOT = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"


@pytest.fixture
def settings(redis_url: str, key_prefix: str, tmp_path: Path) -> Settings:
    return settings_for(redis_url, key_prefix, tmp_path)


def count_calls(app: Any) -> list[str]:
    """Record the name of every script the resolver runs from now on."""
    calls: list[str] = []
    scripts = app.state.services.resolver.scripts
    original = scripts.run

    def counting(name: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        calls.append(name)
        return original(name, keys, args)

    scripts.run = counting
    return calls


def test_the_hot_path_redirect_carries_the_same_headers_as_the_app_path(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix, password=None)

    async def scenario() -> tuple[Any, Any]:
        async with redirector(settings) as service, service.client() as client:
            hot = await client.get(f"/{code}")
            # A preview bot's request for an unlimited link goes through Starlette to a 302.
            routed = await client.get(f"/{code}", headers={"User-Agent": BOT})
        return hot, routed

    hot, routed = run(scenario())

    assert hot.status_code == routed.status_code == 302
    assert hot.headers.multi_items() == routed.headers.multi_items()
    assert hot.headers["location"] == TARGET
    assert hot.headers["cache-control"] == "private, no-store"


def test_the_redirector_batches_its_script_calls_on_a_single_server(
    settings: Settings,
) -> None:
    async def scenario() -> Any:
        async with redirector(settings) as service:
            return service.app.state.services.resolver.scripts

    assert isinstance(run(scenario()), ScriptPipeline)


@pytest.mark.parametrize(
    ("max_views", "password", "expected"),
    [(1, None, 410), (None, "secret", 200)],
    ids=["exhausted", "password"],
)
def test_an_answer_the_app_gives_still_costs_one_script_call(
    settings: Settings,
    redis_sync: redis.Redis,
    key_prefix: str,
    max_views: int | None,
    password: str | None,
    expected: int,
) -> None:
    code = store_link(redis_sync, key_prefix, max_views=max_views, password=password)
    if max_views:
        redis_sync.hset(f"{key_prefix}:link:{{{code}}}", "v", max_views)

    async def scenario() -> tuple[int, list[str]]:
        async with redirector(settings) as service, service.client() as client:
            calls = count_calls(service.app)
            response = await client.get(f"/{code}")
        return response.status_code, calls

    status, calls = run(scenario())

    assert status == expected
    assert calls == ["resolve_link"]
    assert redis_sync.hget(f"{key_prefix}:link:{{{code}}}", "v") == (
        str(max_views).encode() if max_views else None
    )


def test_head_on_the_hot_path_counts_nothing(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix, password=None, max_views=None)
    limited = store_link(redis_sync, key_prefix, password=None, max_views=1)

    async def scenario() -> tuple[int, ...]:
        async with redirector(settings) as service, service.client() as client:
            head = await client.head(f"/{code}")
            get = await client.get(f"/{code}")
            limited_head = await client.head(f"/{limited}")
        return head.status_code, get.status_code, limited_head.status_code

    assert run(scenario()) == (302, 302, 200)
    assert redis_sync.hget(f"{key_prefix}:link:{{{code}}}", "v") == b"1"
    assert redis_sync.hget(f"{key_prefix}:link:{{{limited}}}", "v") is None


def test_a_script_error_on_the_hot_path_answers_the_contract_500(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    redis_sync.set(f"{key_prefix}:link:{{broken1}}", "not a hash")

    async def scenario() -> Any:
        async with redirector(settings) as service, service.client() as client:
            return await client.get("/broken1", headers={"Accept": "application/json"})

    response = run(scenario())

    assert response.status_code == 500
    body = response.json()
    assert body["message"] == "An unexpected error occurred"
    assert body["referenceId"] == response.headers["x-reference-id"]


def test_an_unreachable_store_on_the_hot_path_answers_503(tmp_path: Path, key_prefix: str) -> None:
    settings = settings_for("redis://127.0.0.1:1/0", key_prefix, tmp_path)

    async def scenario() -> Any:
        async with redirector(settings) as service, service.client() as client:
            return await client.get("/abcd1234", headers={"Accept": "application/json"})

    response = run(scenario())

    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["message"] == "The service is busy. Try again in a moment."


def test_the_redirect_counts_in_the_metrics(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix, password=None)

    async def scenario() -> str:
        async with redirector(settings) as service, service.client() as client:
            assert isinstance(service.app, RedirectorApp)
            await client.get(f"/{code}")
            return (await client.get("/-/metrics")).text

    metrics = run(scenario())

    assert 'securelink_resolutions_total{outcome="ok",service="redirector"} 1.0\n' in metrics


def test_the_unbatched_resolver_used_on_redis_cluster_answers_the_same(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix, password=None)

    async def scenario() -> tuple[Resolution, Resolution]:
        client = connect(settings)
        scripts = load_scripts()
        try:
            keys = Keys(key_prefix)
            recording = Recording(keys, DayKeys(keys), enabled=True, totals_in_script=False)
            single = Resolver(ScriptRunner(client, scripts), recording, settings)
            batched_pipeline = ScriptPipeline(settings.require_redis(), scripts, timeout=1)
            batched = Resolver(batched_pipeline, recording, settings)
            answers = (
                await single.resolve(code, ResolveMode.PEEK),
                await batched.resolve(code, ResolveMode.PEEK),
            )
            await batched_pipeline.aclose()
            return answers
        finally:
            await client.aclose()

    single, batched = run(scenario())

    assert single == batched == Resolution(ResolveStatus.OK, target=TARGET)


def test_the_services_uvicorn_options_give_the_fast_lane_the_redirector_itself(
    settings: Settings,
) -> None:
    options = uvicorn_options(settings, port=0)
    del options["log_config"]  # the process's logging is not this test's to configure
    app = create_app(settings)
    config = uvicorn.Config(app, **options)

    config.load()

    assert config.http_protocol_class is FastLaneProtocol
    assert config.loaded_app is app  # unwrapped: the protocol finds app.hot_path
    assert isinstance(app, RedirectorApp)
