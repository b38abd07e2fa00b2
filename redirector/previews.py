"""Link-preview bots: unfurling a link in a chat must never spend one of its views.

Slack, Facebook, X, WhatsApp, Discord, Telegram, LinkedIn and the like fetch a link the
moment it is pasted. For them the link is only looked at (no view is counted; a GET counts
one preview in the link's stats, a HEAD nothing), and:
- a view-limited, password-protected or file link answers a neutral 200 page that names
  nothing about the target;
- an unlimited url link without a password answers its 302 (nothing counted), so the
  preview shows the real page: anyone in the chat could open it any number of times anyway;
- unknown and gone links answer their usual 404 and 410.
"""

from __future__ import annotations

import re
from functools import lru_cache

from starlette.requests import Request
from starlette.responses import Response

from redirector import pages
from redirector.services import services
from shared.scripts import ResolveMode, ResolveStatus
from shared.store import REDIS_UNAVAILABLE

# Product tokens of preview fetchers and crawlers, compared as whole words. Not a bare "bot"
# (real phones: "CUBOT"), nor in-app browsers ("Pinterest for Android", "Snapchat", "FBAN"):
# those are people following the link, who must get it.
PREVIEW_BOT_TOKENS = frozenset(
    {
        "slackbot",
        "slackbot-linkexpanding",
        "slack-imgproxy",
        "facebookexternalhit",
        "facebookcatalog",
        "meta-externalagent",
        "twitterbot",
        "whatsapp",
        "discordbot",
        "telegrambot",
        "linkedinbot",
        "skypeuripreview",
        "microsoftpreview",
        "mattermost-bot",
        "rocket.chat",
        "pinterestbot",
        "redditbot",
        "vkshare",
        "embedly",
        "iframely",
        "bitlybot",
        "line-poker",
        "kakaotalk-scrap",
        "zulipurlpreview",
        "cardyb",
        "mastodon",
        "applebot",
        "googlebot",
        "google-inspectiontool",
        "bingbot",
        "bingpreview",
        "duckduckbot",
        "yandexbot",
        "baiduspider",
        "petalbot",
    }
)
# Words of a lowercased User-Agent: "Mozilla/5.0 (compatible; Discordbot/2.0)" gives
# mozilla, compatible, discordbot. One findall and a set lookup: about 1 us, 0.1 us cached.
_WORD = re.compile(r"[a-z][a-z0-9_.\-]*")
# Cache only user agents of a sane length: the cache must not become a memory sink.
_CACHED_LENGTH = 512


def _names_a_bot(user_agent: str) -> bool:
    return not PREVIEW_BOT_TOKENS.isdisjoint(_WORD.findall(user_agent.lower()))


_cached = lru_cache(maxsize=1024)(_names_a_bot)


def is_preview_bot(user_agent: str) -> bool:
    """True for link-preview fetchers and crawlers, by their User-Agent."""
    if not user_agent:
        return False
    if len(user_agent) > _CACHED_LENGTH:
        return _names_a_bot(user_agent[: 4 * _CACHED_LENGTH])
    return _cached(user_agent)


def request_is_preview(request: Request) -> bool:
    return is_preview_bot(request.headers.get("user-agent", ""))


async def preview_response(request: Request, code: str) -> Response:
    """Answer a preview bot for a valid code, counting nothing."""
    found = services(request)
    responder = found.responder
    try:
        mode = ResolveMode.PEEK if request.method == "HEAD" else ResolveMode.PREVIEW
        resolution = await found.resolver.resolve(code, mode)
        shows_target = (
            resolution.status is ResolveStatus.OK
            and not resolution.is_file
            and not resolution.view_limited
        )
    except REDIS_UNAVAILABLE as exc:
        found.metrics.redis_error(exc)
        found.metrics.resolved("unavailable")
        return responder.unavailable(request)
    found.metrics.resolved("preview")
    hidden = (ResolveStatus.OK, ResolveStatus.PASSWORD_REQUIRED, ResolveStatus.CLICK_REQUIRED)
    if shows_target or resolution.status not in hidden:
        return responder.outcome(request, resolution)
    return neutral_page(responder.always_on)


def neutral_page(always_on: dict[str, str]) -> Response:
    """200, no target, not to be cached or indexed."""
    headers = {**always_on, **pages.PAGE_HEADERS, "X-Robots-Tag": "noindex, nofollow"}
    return Response(pages.preview_page(), 200, headers, media_type="text/html")
