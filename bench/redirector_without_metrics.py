"""The redirector with its hot path's two metric writes replaced by nothing, for the
benchmark's side-by-side measure of what metrics cost a redirect.

`python -m bench.redirector_without_metrics`: the same launcher and settings as
`python -m redirector` (one worker, so the patch applies in this very process).
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette


def _nothing(*args: Any) -> None:
    return None


def factory() -> Starlette:
    from redirector import app, hotpath

    hotpath.hot_increment = lambda counter: _nothing  # type: ignore[attr-defined]
    hotpath.hot_observe = lambda histogram: _nothing  # type: ignore[attr-defined]
    return app.factory()


if __name__ == "__main__":
    from shared.cli import serve

    serve("bench.redirector_without_metrics:factory", "redirector_port")
