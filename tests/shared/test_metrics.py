"""Prometheus text: HELP and TYPE once per counter, one line per label value."""

from __future__ import annotations

from shared.metrics import Metrics


def test_counters_render_in_prometheus_text_format() -> None:
    metrics = Metrics("redirector")
    metrics.declare("securelink_resolutions_total", "outcome", "Script outcomes by status")

    metrics.inc("securelink_resolutions_total", "ok")
    metrics.inc("securelink_resolutions_total", "ok")
    metrics.inc("securelink_resolutions_total", "not_found", by=3)

    assert metrics.render() == (
        "# HELP securelink_resolutions_total Script outcomes by status\n"
        "# TYPE securelink_resolutions_total counter\n"
        'securelink_resolutions_total{service="redirector",outcome="not_found"} 3\n'
        'securelink_resolutions_total{service="redirector",outcome="ok"} 2\n'
    )


def test_declared_counter_without_counts_still_has_its_help() -> None:
    metrics = Metrics("admin_api")
    metrics.declare("securelink_links_created_total", "kind", "Links created")

    assert metrics.render() == (
        "# HELP securelink_links_created_total Links created\n"
        "# TYPE securelink_links_created_total counter\n"
    )
