"""Reading the stats resolve_link records: a link's, and the whole service's, by UTC day.

Everything was aggregated when the view was counted, so a read is one HGETALL per key: a
link's three keys share its hash tag (one node, one pipeline), and each day's totals are a
key of their own. Days come back oldest first, every day of the window, zeros included, so a
chart plots the list as it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from admin_api.errors import NotFound, ValidationFailed
from shared.errors import json_response
from shared.keys import Keys, is_valid_code
from shared.models import Count, DateTime, Field, format_ms, now_ms
from shared.stats import (
    DEVICE_LETTERS,
    KEEP_DAYS,
    MAX_REFERRERS,
    NO_REFERRER,
    OTHER_HOST,
    OTHER_REFERRER,
    day_date,
    utc_day,
)

DAYS_ERROR = f"days: must be an integer from 1 to {KEEP_DAYS}"
FORMAT_ERROR = "format: must be json or csv"
CSV = "text/csv; charset=utf-8"
LINK_DAYS = 30  # the window when the query names none
SERVICE_DAYS = 7


UtcDate = Annotated[
    str, msgspec.Meta(pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="UTC day")
]


class DayCount(msgspec.Struct, frozen=True, kw_only=True):
    date: UtcDate
    views: Count
    previews: Count


class Referrer(msgspec.Struct, frozen=True, kw_only=True):
    host: Annotated[
        str | None,
        msgspec.Meta(description='null: no Referer sent; "other": the rest, and unusable ones'),
    ]
    views: Count


class Devices(msgspec.Struct, frozen=True, kw_only=True):
    desktop: Count
    mobile: Count
    tablet: Count
    other: Count


class LinkStats(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    short_code: str
    views: Count
    previews: Count
    last_viewed_at: DateTime | None
    days: list[DayCount]
    referrers: list[Referrer]
    devices: Devices


class ServiceDay(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    date: UtcDate
    views: Count
    previews: Count
    not_found: Count
    gone: Count


class ServiceStats(msgspec.Struct, frozen=True, kw_only=True):
    days: list[ServiceDay]


def _decoded(raw: Mapping[bytes, bytes]) -> dict[str, str]:
    return {key.decode(): value.decode() for key, value in raw.items()}


def _window(days: int, at_ms: int) -> range:
    today = utc_day(at_ms)
    return range(today - days + 1, today + 1)


def referrers_of(fields: Mapping[str, str]) -> list[Referrer]:
    """Most views first, at most 10; the rest fold into "other".

    Ties: named hosts by name, then null (no Referer), then "other".
    """
    other = int(fields.get("r" + OTHER_REFERRER, "0"))
    named: list[tuple[int, str | None]] = []
    for name, value in fields.items():
        if name.startswith("r") and name != "r" + OTHER_REFERRER:
            host = name[1:]
            named.append((int(value), None if host == NO_REFERRER else host))
    named.sort(key=lambda item: (-item[0], item[1] is None, item[1] or ""))
    room = MAX_REFERRERS - (1 if other else 0)
    if len(named) > room:
        room = MAX_REFERRERS - 1
        other += sum(views for views, _ in named[room:])
        named = named[:room]
    entries = [(views, host) for views, host in named]
    if other:
        entries.append((other, OTHER_HOST))
        entries.sort(key=lambda item: -item[0])  # stable: "other" after hosts of its count
    return [Referrer(host=host, views=views) for views, host in entries]


def link_stats(
    code: str,
    link: Mapping[str, str],
    stats: Mapping[str, str],
    previews: Mapping[str, str],
    days: int,
    at_ms: int,
) -> LinkStats:
    last_viewed = link.get(Field.LAST_VIEWED)
    return LinkStats(
        short_code=code,
        views=int(link.get(Field.VIEWS, "0")),
        previews=int(previews.get("t", "0")),
        last_viewed_at=format_ms(int(last_viewed)) if last_viewed is not None else None,
        days=[
            DayCount(
                date=day_date(day),
                views=int(stats.get(str(day), "0")),
                previews=int(previews.get(str(day), "0")),
            )
            for day in _window(days, at_ms)
        ],
        referrers=referrers_of(stats),
        devices=Devices(
            **{name: int(stats.get("d" + letter, "0")) for name, letter in DEVICE_LETTERS.items()}
        ),
    )


class StatsReader:
    """The two stats routes' reads; `clock` lets tests stand at any moment."""

    def __init__(self, redis: Any, keys: Keys, clock: Callable[[], int] = now_ms) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock

    async def link(self, code: str, days: int) -> LinkStats:
        if not is_valid_code(code):
            raise NotFound()
        pipe = self.redis.pipeline(transaction=False)
        for key in self.keys.link_family(code):
            pipe.hgetall(key)
        link, stats, previews = (_decoded(raw) for raw in await pipe.execute())
        if not link:
            raise NotFound()
        return link_stats(code, link, stats, previews, days, self.clock())

    async def service(self, days: int) -> ServiceStats:
        window = _window(days, self.clock())
        pipe = self.redis.pipeline(transaction=False)
        for day in window:
            pipe.hgetall(self.keys.totals(day_date(day)))
        replies = await pipe.execute()
        return ServiceStats(
            days=[
                ServiceDay(
                    date=day_date(day),
                    views=int(totals.get("v", "0")),
                    previews=int(totals.get("p", "0")),
                    not_found=int(totals.get("n", "0")),
                    gone=int(totals.get("g", "0")),
                )
                for day, totals in zip(window, map(_decoded, replies), strict=True)
            ]
        )


def read_query(request: Request, default_days: int) -> tuple[int, bool]:
    """(days, as CSV) from the query; every bad parameter is named at once."""
    errors = []
    raw_days = request.query_params.get("days", str(default_days))
    days = int(raw_days) if raw_days.isascii() and raw_days.isdigit() and len(raw_days) < 4 else 0
    if not 1 <= days <= KEEP_DAYS:
        errors.append(DAYS_ERROR)
    output = request.query_params.get("format", "json")
    if output not in ("json", "csv"):
        errors.append(FORMAT_ERROR)
    if errors:
        raise ValidationFailed(errors)
    return days, output == "csv"


def csv_response(rows: list[list[Any]], file_name: str) -> Response:
    """A spreadsheet's view of the days: a header row, then one row a day, oldest first."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    headers = {"Content-Disposition": f'attachment; filename="{file_name}"'}
    return Response(text.getvalue(), 200, headers, media_type=CSV)


def reader_of(request: Request) -> StatsReader:
    # Not admin_api.services.services(): that module imports this one for StatsReader.
    reader: StatsReader = request.app.state.services.stats
    return reader


async def get_link_stats(request: Request) -> Response:
    days, as_csv = read_query(request, LINK_DAYS)
    code = request.path_params["code"]
    stats = await reader_of(request).link(code, days)
    if as_csv:
        rows: list[list[Any]] = [["date", "views", "previews"]]
        rows += [[day.date, day.views, day.previews] for day in stats.days]
        return csv_response(rows, f"{code}-stats.csv")
    return json_response(200, stats)


async def get_service_stats(request: Request) -> Response:
    days, as_csv = read_query(request, SERVICE_DAYS)
    stats = await reader_of(request).service(days)
    if as_csv:
        rows: list[list[Any]] = [["date", "views", "previews", "notFound", "gone"]]
        rows += [[d.date, d.views, d.previews, d.not_found, d.gone] for d in stats.days]
        return csv_response(rows, "service-stats.csv")
    return json_response(200, stats)
