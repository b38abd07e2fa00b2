"""What the command line prints: tables of links and keys, and views per day as bars."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

BAR_WIDTH = 40
_LINK_FIELDS = (
    ("code", "shortCode"),
    ("short URL", "shortUrl"),
    ("target", "targetUrl"),
    ("kind", "kind"),
    ("status", "status"),
    ("views", "views"),
    ("max views", "maxViews"),
    ("remaining", "remainingViews"),
    ("expires", "expiresAt"),
    ("password", "passwordProtected"),
    ("click to open", "clickToOpen"),
    ("tags", "tags"),
    ("file", "fileName"),
    ("size", "fileSize"),
    ("created", "createdAt"),
    ("last viewed", "lastViewedAt"),
)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "-"
    return str(value)


def link(console: Console, data: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, name in _LINK_FIELDS:
        if name in data and not (name.startswith("file") and data[name] is None):
            table.add_row(label, cell(data[name]))
    console.print(table)


def links(console: Console, items: list[dict[str, Any]]) -> None:
    table = Table("code", "status", "views", "max", "expires", "tags", "target")
    table.columns[-1].overflow = "fold"
    for item in items:
        table.add_row(
            item["shortCode"],
            item["status"],
            cell(item.get("views")),
            cell(item.get("maxViews")),
            cell(item.get("expiresAt")),
            cell(item.get("tags", [])),
            cell(item.get("targetUrl") or item.get("fileName")),
        )
    console.print(table)


def keys(console: Console, items: list[dict[str, Any]]) -> None:
    table = Table("id", "name", "read-only", "created", "last used", "disabled")
    for item in items:
        table.add_row(
            cell(item.get("id")),
            cell(item.get("name")),
            cell(item.get("readOnly")),
            cell(item.get("createdAt")),
            cell(item.get("lastUsedAt")),
            cell(item.get("disabledAt")),
        )
    console.print(table)


def bars(days: list[dict[str, Any]], width: int = BAR_WIDTH) -> list[str]:
    """One line a day: the date, a bar scaled to the busiest day, and the views."""
    top = max((day.get("views", 0) for day in days), default=0)
    lines = []
    for day in days:
        views = day.get("views", 0)
        length = round(views / top * width) if top else 0
        if views and not length:
            length = 1  # a day with any view shows at least a sliver
        lines.append(f"{day['date']} {'█' * length}{' ' * (width - length)} {views}")
    return lines


def stats(console: Console, data: dict[str, Any]) -> None:
    console.print(
        f"[bold]{data.get('shortCode', '')}[/bold]  views {data.get('views', 0)}  "
        f"previews {data.get('previews', 0)}  last viewed {cell(data.get('lastViewedAt'))}"
    )
    console.print(Text("views per day (UTC)", style="bold"))
    for line in bars(data.get("days", [])):
        console.print(Text(line))
    referrers = data.get("referrers") or []
    if referrers:
        table = Table("referrer", "views")
        for referrer in referrers:
            table.add_row(referrer.get("host") or "(none)", str(referrer.get("views", 0)))
        console.print(table)
    devices = data.get("devices") or {}
    if devices:
        console.print("devices: " + ", ".join(f"{name} {count}" for name, count in devices.items()))
