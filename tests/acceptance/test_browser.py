"""A real browser (Debian's chromium, driven by Playwright) opens a password-protected link."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.stacks import Stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "open sesame, browser"
LANDING = b"<!doctype html><title>Landed</title><h1>You reached the target</h1>"


class _Landing(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(LANDING)))
        self.end_headers()
        self.wfile.write(LANDING)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def landing_url() -> Iterator[str]:
    """A page of the test's own, on a free loopback port: where the link leads."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Landing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/landing"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run must install Debian's chromium")
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (CI installs it)")


def test_browser_sees_the_form_is_refused_a_wrong_password_then_lands_on_the_target(
    stack: Stack, landing_url: str
) -> None:
    _require_chromium()
    from playwright.sync_api import ConsoleMessage, sync_playwright

    link = stack.create_link(targetUrl=landing_url, password=PASSWORD, maxViews=3)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            violations: list[str] = []

            def note_violation(message: ConsoleMessage) -> None:
                if "Content Security Policy" in message.text:
                    violations.append(message.text)

            page.on("console", note_violation)

            form = page.goto(link["shortUrl"])
            form_status = form.status if form is not None else None
            title = page.title()
            field = page.get_by_label("Password")
            field.fill("not the password")
            with page.expect_navigation() as refused:
                page.get_by_role("button", name="Open link").click()
            refused_status = refused.value.status
            alert = page.get_by_role("alert").inner_text()
            # The inline style runs only if the CSP's hash of it is right: the alert is red.
            alert_color = page.get_by_role("alert").evaluate("e => getComputedStyle(e).color")
            retry_field_visible = page.get_by_label("Password").is_visible()
            page.get_by_label("Password").fill(PASSWORD)
            with page.expect_navigation(url=landing_url) as landed:
                page.get_by_role("button", name="Open link").click()
            landed_status = landed.value.status
            heading = page.locator("h1").inner_text()
            final_url = page.url
        finally:
            browser.close()

    assert form_status == 200
    assert title == "Password required"
    assert refused_status == 401
    assert alert == "Wrong password. Try again."
    assert retry_field_visible
    assert landed_status == 200
    assert final_url == landing_url
    assert heading == "You reached the target"
    assert alert_color == "rgb(164, 0, 0)"
    assert violations == []
    assert stack.admin("GET", f"/api/v1/links/{link['shortCode']}").json()["views"] == 1
