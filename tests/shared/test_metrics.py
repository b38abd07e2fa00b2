"""Prometheus text from prometheus-client: HELP and TYPE once per metric, one line per labels."""

from __future__ import annotations

from starlette.routing import Mount, Route

from shared.metrics import UNMATCHED, Metrics, RequestTimer


async def _nothing(*args: object) -> None:
    return None


def _text(metrics: Metrics) -> str:
    return metrics.render().decode()


def test_counters_render_in_prometheus_text_format() -> None:
    metrics = Metrics("redirector")

    metrics.resolved("ok")
    metrics.resolved("ok")
    for _ in range(3):
        metrics.resolved("not_found")

    text = _text(metrics)
    assert text.count("# HELP securelink_resolutions_total ") == 1
    assert "# TYPE securelink_resolutions_total counter\n" in text
    assert 'securelink_resolutions_total{outcome="not_found",service="redirector"} 3.0\n' in text
    assert 'securelink_resolutions_total{outcome="ok",service="redirector"} 2.0\n' in text


def test_declared_counter_without_counts_still_has_its_help() -> None:
    metrics = Metrics("admin_api")

    text = _text(metrics)

    assert "# HELP securelink_links_created_total Links created by the admin API, by kind\n" in text
    assert "# TYPE securelink_links_created_total counter\n" in text
    assert "securelink_links_created_total{" not in text


def test_two_apps_in_one_process_count_apart() -> None:
    first, second = Metrics("redirector"), Metrics("redirector")

    first.resolved("ok")

    assert 'outcome="ok",service="redirector"} 1.0' in _text(first)
    assert 'outcome="ok",' not in _text(second)


def test_latency_is_labelled_by_route_template_never_the_raw_path() -> None:
    api = [Route("/links/batch", _nothing), Route("/links/{code}", _nothing)]
    routes = [Route("/-/healthz", _nothing), Mount("/api/v1", routes=api)]
    timer = RequestTimer(_nothing, metrics=Metrics("admin_api"), routes=routes)

    assert timer.template("/api/v1/links/Xk3p9QaZ2m") == "/api/v1/links/{code}"
    assert timer.template("/api/v1/links/batch") == "/api/v1/links/batch"
    assert timer.template("/-/healthz") == "/-/healthz"
    assert timer.template("/nowhere/Xk3p9QaZ2m") == UNMATCHED


def test_histograms_carry_route_and_status() -> None:
    metrics = Metrics("redirector")

    metrics.duration("/{code}", 302).observe(0.002)
    metrics.batch_sizes().observe(7)

    text = _text(metrics)
    assert (
        'securelink_request_duration_seconds_bucket{le="0.0025",route="/{code}",service="redirector",'
        'status="302"} 1.0' in text
    )
    assert 'securelink_request_duration_seconds_count{route="/{code}",service="redirector",' in text
    assert 'securelink_pipeline_batch_size_bucket{le="8.0",service="redirector"} 1.0' in text
