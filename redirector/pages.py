"""The redirector's small pages: no external assets, one inline style allowed by its hash."""

from __future__ import annotations

import base64
import hashlib
from html import escape

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;"
    "color:#1b1b1b}h1{font-size:1.4rem}label{display:block;margin:.5rem 0 .25rem}"
    "input{font:inherit;padding:.4rem;width:100%;box-sizing:border-box}"
    "button{font:inherit;margin-top:.75rem;padding:.4rem 1rem}"
    ".error{color:#a40000;font-weight:600}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

# No form-action: browsers check it against the redirect that follows a form post too, and
# the 303 of a right password leads to the link's target, which the page must not name.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; frame-ancestors 'none'; base-uri 'none'"
)

PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


def page(title: str, body_html: str) -> bytes:
    """A complete, accessible HTML page around already-escaped body HTML."""
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body_html}</main></body></html>\n"
    ).encode()


def message_page(title: str, message: str) -> bytes:
    return page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")


def preview_page() -> bytes:
    """What link-preview bots see: nothing about the target, so unfurling spends no view."""
    return page(
        "Shared link",
        "<h1>Shared link</h1><p>Open this link in your browser to continue.</p>",
    )


def click_page() -> bytes:
    """A click-to-open link: only the person's click (a POST) counts the view."""
    return page(
        "Open link",
        "<h1>Open this link</h1>"
        "<p>This link opens when you press the button.</p>"
        '<form method="post"><button type="submit" autofocus>Open link</button></form>',
    )


def password_page(error: str | None = None) -> bytes:
    """The form posts to the page's own URL; an error is announced to screen readers."""
    alert = f'<p class="error" role="alert" id="error">{escape(error)}</p>' if error else ""
    described = ' aria-describedby="error" aria-invalid="true"' if error else ""
    return page(
        "Password required",
        "<h1>This link is password-protected</h1>"
        f"{alert}"
        '<form method="post">'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" required autofocus '
        f'autocomplete="current-password"{described}>'
        '<button type="submit">Open link</button>'
        "</form>",
    )
