"""Link-preview bots unfurl links without spending views and without seeing limited targets."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import redis

from redirector.previews import is_preview_bot
from shared.keys import Keys
from shared.settings import Settings
from tests.support.password_support import (
    TARGET,
    redirector,
    run,
    settings_for,
    store_link,
    views,
)

PREVIEW_BOTS = [
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Slackbot 1.0 (+https://api.slack.com/robots)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot/1.0",
    "WhatsApp/2.23.20.0 A",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "TelegramBot (like TwitterBot)",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "http.rb/5.1.1 (Mastodon/4.2.0; +https://mastodon.social/) Bot",
]

PEOPLE = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.0]",
    "Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile Safari/537.36 [Pinterest/Android]",
    "curl/8.5.0",
    "",
]

SLACK = PREVIEW_BOTS[0]


@pytest.mark.parametrize("user_agent", PREVIEW_BOTS)
def test_preview_bots_are_recognised(user_agent: str) -> None:
    assert is_preview_bot(user_agent)


@pytest.mark.parametrize("user_agent", PEOPLE)
def test_browsers_and_people_are_not_bots(user_agent: str) -> None:
    assert not is_preview_bot(user_agent)


def test_a_huge_user_agent_is_read_without_being_cached() -> None:
    assert is_preview_bot("Twitterbot/1.0 " + "x" * 100_000)
    assert not is_preview_bot("Mozilla/5.0 " + "x" * 100_000)


@pytest.fixture
def settings(redis_url: str, key_prefix: str, tmp_path: Path) -> Settings:
    return settings_for(redis_url, key_prefix, tmp_path)


@pytest.mark.parametrize("user_agent", PREVIEW_BOTS[:8])
def test_preview_of_a_view_limited_link_is_neutral_and_counts_nothing(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str, user_agent: str
) -> None:
    code = store_link(redis_sync, key_prefix, max_views=1, password=None)

    async def scenario() -> httpx.Response:
        async with redirector(settings) as app, app.client() as client:
            return await client.get(f"/{code}", headers={"User-Agent": user_agent})

    response = run(scenario())

    assert response.status_code == 200
    assert "location" not in response.headers
    assert TARGET not in response.text and "target.example" not in response.text
    assert "Shared link" in response.text
    assert "no-store" in response.headers["cache-control"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert views(redis_sync, key_prefix, code) == 0


def test_preview_of_a_protected_link_is_neutral(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix)

    async def scenario() -> httpx.Response:
        async with redirector(settings) as app, app.client() as client:
            return await client.get(f"/{code}", headers={"User-Agent": SLACK})

    response = run(scenario())

    assert response.status_code == 200
    assert "<form" not in response.text
    assert "target.example" not in response.text
    assert views(redis_sync, key_prefix, code) == 0


def test_preview_of_an_unlimited_link_redirects_without_counting(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix, password=None)

    async def scenario() -> httpx.Response:
        async with redirector(settings) as app, app.client() as client:
            return await client.get(f"/{code}", headers={"User-Agent": SLACK})

    response = run(scenario())

    assert response.status_code == 302
    assert response.headers["location"] == TARGET
    assert redis_sync.hget(Keys(key_prefix).link(code), "l") is None
    assert views(redis_sync, key_prefix, code) == 0


def test_many_previews_leave_a_one_view_link_for_its_person(
    settings: Settings, redis_sync: redis.Redis, key_prefix: str
) -> None:
    code = store_link(redis_sync, key_prefix, max_views=1, password=None)

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        async with redirector(settings) as app, app.client() as client:
            for user_agent in PREVIEW_BOTS:
                await client.get(f"/{code}", headers={"User-Agent": user_agent})
                await client.head(f"/{code}", headers={"User-Agent": user_agent})
            person = await client.get(f"/{code}", headers={"User-Agent": PEOPLE[0]})
            after = await client.get(f"/{code}", headers={"User-Agent": SLACK})
            return person, after

    person, after = run(scenario())

    assert person.status_code == 302
    assert person.headers["location"] == TARGET
    assert after.status_code == 410
    assert views(redis_sync, key_prefix, code) == 1


def test_preview_of_unknown_link_answers_404(settings: Settings) -> None:
    async def scenario() -> httpx.Response:
        async with redirector(settings) as app, app.client() as client:
            return await client.get("/NoSuchCode1", headers={"User-Agent": SLACK})

    response = run(scenario())

    assert response.status_code == 404
