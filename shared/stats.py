"""What resolve_link records per link and per day, named once for the writer and the reader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

DAY_MS = 86_400_000
KEEP_DAYS = 90  # days of per-day counts kept; the stats routes' largest window
# A day's totals hash outlives the window whatever the hour it was made (resolve_link: the same).
TOTALS_TTL_SECONDS = (KEEP_DAYS + 2) * 86_400
MAX_REFERRERS = 10  # entries in a Stats object's referrers
# Device class: its stats field's letter (ARGV[5] of resolve_link) and its name on the wire.
DEVICE_LETTERS = {"desktop": "d", "mobile": "m", "tablet": "t", "other": "o"}
NO_REFERRER = ""  # no Referer header: host null
OTHER_REFERRER = "*"  # a Referer without a usable host, and hosts past the held ones: "other"
OTHER_HOST = "other"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_day(ms: int) -> int:
    """Days since 1970-01-01 of a time in ms: the stats hashes' day field."""
    return ms // DAY_MS


def day_date(day: int) -> str:
    """The ISO date (YYYY-MM-DD) of a day number."""
    return (_EPOCH + timedelta(days=day)).date().isoformat()
