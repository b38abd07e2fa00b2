"""Process-local counters in the Prometheus text format; one dict increment a request."""

from __future__ import annotations

from collections import Counter

# Every counter's name, here only: the services declare and count them by these constants.
RESOLUTIONS = "securelink_resolutions_total"  # redirector: script outcomes by status
LINKS_CREATED = "securelink_links_created_total"  # admin API: links created by kind


class Metrics:
    """Counters by (name, label value); each worker process keeps its own."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.counts: Counter[tuple[str, str]] = Counter()
        self.help: dict[str, tuple[str, str]] = {}

    def declare(self, name: str, label: str, text: str) -> None:
        self.help[name] = (label, text)

    def inc(self, name: str, value: str, by: int = 1) -> None:
        self.counts[name, value] += by

    def render(self) -> str:
        lines = []
        for name, (label, text) in self.help.items():
            lines.append(f"# HELP {name} {text}")
            lines.append(f"# TYPE {name} counter")
            for (counted, value), count in sorted(self.counts.items()):
                if counted == name:
                    lines.append(f'{name}{{service="{self.service}",{label}="{value}"}} {count}')
        return "\n".join(lines) + "\n"
