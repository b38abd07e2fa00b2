"""`securelink`: the admin API from a terminal or a script.

It talks HTTP to `SECURELINK_ADMIN_URL` with `SECURELINK_ADMIN_KEY` and imports nothing of the
server, so it runs wherever the project is installed. It prints a table, or the API's JSON
after `--json`. Exit statuses: 0 done, 1 the API refused, 2 bad usage, 3 unavailable.
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from admin_api.cli import render
from admin_api.cli.client import (
    API_REFUSED,
    BAD_USAGE,
    DEFAULT_URL,
    UNAVAILABLE,
    AdminClient,
    CliError,
)

SEED_BATCH = 1000  # the batch route's limit
SEED_IN_FLIGHT = 4
SEED_TARGET = "https://example.com/"
_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass
class Context:
    as_json: bool
    url: str
    key: str | None
    out: Console
    err: Console

    def client(self) -> AdminClient:
        if not self.key:
            raise click.UsageError(
                "SECURELINK_ADMIN_KEY is not set: export the admin key or a named API key"
            )
        return AdminClient(self.url, self.key)

    def show(self, data: Any, table: Callable[[Console, Any], None]) -> None:
        if self.as_json:
            click.echo(json.dumps(data, ensure_ascii=False))
        else:
            table(self.out, data)


pass_context = click.make_pass_decorator(Context)


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `2h`, `7d`, `1w`, or several at once (`1h30m`)."""
    parts = _DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise click.BadParameter(f"{text!r} is not a duration like 90s, 30m, 2h, 7d or 1h30m")
    seconds = sum(int(number) * _UNITS[unit] for number, unit in parts)
    if seconds <= 0:
        raise click.BadParameter("must be longer than 0 seconds")
    return timedelta(seconds=seconds)


def iso_in(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def read_password() -> str:
    """From a terminal: asked without echo. Piped: the first line of standard input."""
    if sys.stdin.isatty():
        password: str = click.prompt("Password", hide_input=True, err=True)
        return password
    line = sys.stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    if password.endswith("\r"):
        password = password[:-1]
    if not password:
        raise click.UsageError("--password-stdin: standard input gave no password")
    return password


def link_options(edit: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options of create, upload and (with the clearing flags) edit."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        options = [
            click.option("--max-views", type=click.IntRange(min=1), help="views allowed"),
            click.option("--expires-in", metavar="DURATION", help="e.g. 2h, 7d, 1h30m"),
            click.option("--expires-at", metavar="ISO", help="ISO 8601 with an offset"),
            click.option(
                "--password-stdin", is_flag=True, help="read the password from standard input"
            ),
            click.option("--tag", "tags", multiple=True, help="a tag (repeat for more)"),
        ]
        if edit:
            options += [
                click.option("--target-url", metavar="URL", help="a new target"),
                click.option(
                    "--click-to-open/--no-click-to-open", default=None, help="ask for a click"
                ),
                click.option("--no-expiry", is_flag=True, help="clear expiresAt"),
                click.option("--no-max-views", is_flag=True, help="clear maxViews"),
                click.option("--no-password", is_flag=True, help="clear the password"),
            ]
        else:
            options += [
                click.option("--code", help="a custom code, [A-Za-z0-9_-]{4,64}"),
                click.option("--click-to-open", is_flag=True, help="a person must click first"),
            ]
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def link_fields(
    max_views: int | None,
    expires_in: str | None,
    expires_at: str | None,
    password_stdin: bool,
    tags: tuple[str, ...],
) -> dict[str, Any]:
    if expires_in and expires_at:
        raise click.UsageError("give --expires-in or --expires-at, not both")
    fields: dict[str, Any] = {}
    if max_views is not None:
        fields["maxViews"] = max_views
    if expires_in:
        fields["expiresAt"] = iso_in(parse_duration(expires_in))
    if expires_at:
        fields["expiresAt"] = expires_at
    if password_stdin:
        fields["password"] = read_password()
    if tags:
        fields["tags"] = list(tags)
    return fields


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--json", "as_json", is_flag=True, help="print the API's JSON instead of a table")
@click.option(
    "--admin-url",
    envvar="SECURELINK_ADMIN_URL",
    default=DEFAULT_URL,
    show_default=True,
    help="the admin API (env SECURELINK_ADMIN_URL)",
)
@click.version_option(package_name="securelink")
@click.pass_context
def cli(context: click.Context, as_json: bool, admin_url: str) -> None:
    """Create, read and end secure links through the admin API (key: SECURELINK_ADMIN_KEY)."""
    import os

    context.obj = Context(
        as_json=as_json,
        url=admin_url,
        key=os.environ.get("SECURELINK_ADMIN_KEY") or None,
        out=Console(),
        err=Console(stderr=True),
    )


@cli.command()
@click.argument("url")
@link_options()
@pass_context
def create(
    ctx: Context,
    /,
    url: str,
    code: str | None,
    click_to_open: bool,
    **options: Any,
) -> None:
    """Create a link to URL."""
    body = {"targetUrl": url, **link_fields(**options)}
    if code:
        body["customCode"] = code
    if click_to_open:
        body["clickToOpen"] = True
    with ctx.client() as client:
        ctx.show(client.json("POST", "/api/v1/links", json=body), render.link)


@cli.command()
@click.argument("code")
@pass_context
def get(ctx: Context, code: str) -> None:
    """Show one link, its views and status as of now."""
    with ctx.client() as client:
        ctx.show(client.json("GET", f"/api/v1/links/{_path(code)}"), render.link)


@cli.command(name="list")
@click.option("--tag", help="only links carrying this tag")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@pass_context
def list_links(ctx: Context, tag: str | None, limit: int) -> None:
    """The newest links first."""
    params: dict[str, Any] = {"limit": limit}
    if tag:
        params["tag"] = tag
    with ctx.client() as client:
        data = client.json("GET", "/api/v1/links", params=params)
    if ctx.as_json:
        ctx.show(data, render.links)
        return
    render.links(ctx.out, data["items"])
    if data.get("nextCursor"):
        ctx.err.print(f"more links: the next page starts after {data['nextCursor']}")


@cli.command()
@click.argument("code")
@click.option("--days", type=click.IntRange(1, 90), default=30, show_default=True)
@pass_context
def stats(ctx: Context, code: str, days: int) -> None:
    """Views per day as a chart, referrers and devices."""
    with ctx.client() as client:
        data = client.json("GET", f"/api/v1/links/{_path(code)}/stats", params={"days": days})
    ctx.show(data, render.stats)


@cli.command()
@click.argument("code")
@link_options(edit=True)
@pass_context
def edit(
    ctx: Context,
    /,
    code: str,
    target_url: str | None,
    click_to_open: bool | None,
    no_expiry: bool,
    no_max_views: bool,
    no_password: bool,
    **options: Any,
) -> None:
    """Change a link (PATCH); the --no-* flags clear a limit."""
    for flag, name, given in (
        (no_expiry, "--no-expiry", options["expires_in"] or options["expires_at"]),
        (no_max_views, "--no-max-views", options["max_views"] is not None),
        (no_password, "--no-password", options["password_stdin"]),
    ):
        if flag and given:
            raise click.UsageError(f"{name} contradicts the value given with it")
    body = link_fields(**options)
    if target_url:
        body["targetUrl"] = target_url
    if click_to_open is not None:
        body["clickToOpen"] = click_to_open
    if no_expiry:
        body["expiresAt"] = None
    if no_max_views:
        body["maxViews"] = None
    if no_password:
        body["password"] = None
    if not body:
        raise click.UsageError("nothing to change: give at least one option")
    with ctx.client() as client:
        ctx.show(client.json("PATCH", f"/api/v1/links/{_path(code)}", json=body), render.link)


def _code_or_tag(code: str | None, tag: str | None, verb: str) -> None:
    if (code is None) == (tag is None):
        raise click.UsageError(f"{verb} CODE, or {verb} --tag TAG: one of the two")


@cli.command()
@click.argument("code", required=False)
@click.option("--tag", help="revoke every link carrying this tag")
@pass_context
def revoke(ctx: Context, code: str | None, tag: str | None) -> None:
    """End a link now (it answers 410), or every link of a tag."""
    _code_or_tag(code, tag, "revoke")
    with ctx.client() as client:
        if code is not None:
            ctx.show(client.json("POST", f"/api/v1/links/{_path(code)}/revoke"), render.link)
            return
        data = client.json("POST", "/api/v1/links/revoke", json={"tag": tag})
    ctx.show(data, lambda console, d: console.print(f"revoked {d.get('revoked', 0)} links"))


@cli.command()
@click.argument("code", required=False)
@click.option("--tag", help="delete every link carrying this tag")
@pass_context
def delete(ctx: Context, code: str | None, tag: str | None) -> None:
    """Delete a link and its stats now (the code is free again), or every link of a tag."""
    _code_or_tag(code, tag, "delete")
    with ctx.client() as client:
        if code is not None:
            client.request("DELETE", f"/api/v1/links/{_path(code)}")
            data: dict[str, Any] = {"deleted": 1, "shortCode": code}
        else:
            data = client.json("DELETE", "/api/v1/links", params={"tag": tag})
    ctx.show(data, lambda console, d: console.print(f"deleted {d.get('deleted', 0)} links"))


class _ProgressReader:
    """A file that moves a progress bar as httpx reads it for the upload."""

    def __init__(self, file: IO[bytes], advance: Callable[[int], None]) -> None:
        self.file = file
        self.advance = advance

    def read(self, size: int = -1) -> bytes:
        chunk = self.file.read(size)
        self.advance(len(chunk))
        return chunk

    def __getattr__(self, name: str) -> Any:  # seek, tell, fileno: the length is measured
        return getattr(self.file, name)

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(64 * 1024):
            yield chunk


def _progress(console: Console, *columns: Any) -> Progress:
    """A bar on a terminal; nothing at all when standard error is piped."""
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        *columns,
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@link_options()
@pass_context
def upload(
    ctx: Context, /, file: Path, code: str | None, click_to_open: bool, **options: Any
) -> None:
    """Upload FILE as a download link."""
    fields = link_fields(**options)
    form: dict[str, Any] = {
        name: str(value) for name, value in fields.items() if not isinstance(value, list)
    }
    if code:
        form["customCode"] = code
    if click_to_open:
        form["clickToOpen"] = "true"
    if fields.get("tags"):
        form["tags"] = fields["tags"]
    size = file.stat().st_size
    with ctx.client() as client, _progress(ctx.err, DownloadColumn(), TransferSpeedColumn()) as bar:
        task = bar.add_task(f"uploading {file.name}", total=size)
        with file.open("rb") as raw:
            reader = _ProgressReader(raw, lambda n: bar.advance(task, n))
            files = {"file": (file.name, reader, "application/octet-stream")}
            data = client.json("POST", "/api/v1/files", data=form, files=files)
    ctx.show(data, render.link)


@cli.command()
@click.option("--count", type=click.IntRange(min=1), required=True, help="links to create")
@click.option("--max-views", type=click.IntRange(min=1), help="views allowed per link")
@click.option("--expires-in", metavar="DURATION", help="e.g. 1h, 7d")
@click.option("--tag", "tags", multiple=True, help="tag every link (to tear down by tag)")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="write the codes here, one a line (default: standard output)",
)
@click.option("--target", default=SEED_TARGET, show_default=True, help="every link's target")
@pass_context
def seed(
    ctx: Context,
    count: int,
    max_views: int | None,
    expires_in: str | None,
    tags: tuple[str, ...],
    out: Path | None,
    target: str,
) -> None:
    """Create COUNT links through the batch route, for load tests; their codes one a line."""
    item: dict[str, Any] = {"targetUrl": target}
    if max_views is not None:
        item["maxViews"] = max_views
    if expires_in:
        item["expiresAt"] = iso_in(parse_duration(expires_in))
    if tags:
        item["tags"] = list(tags)
    sizes = [min(SEED_BATCH, count - start) for start in range(0, count, SEED_BATCH)]
    codes: list[list[str]] = [[] for _ in sizes]
    refused: list[str] = []
    with ctx.client() as client, _progress(ctx.err, MofNCompleteColumn()) as bar:
        task = bar.add_task("creating links", total=count)

        def one_batch(number: int) -> None:
            body = {"links": [item] * sizes[number]}
            # The same key on a retry: a service that keeps Idempotency-Keys creates nothing twice.
            headers = {"Idempotency-Key": f"seed-{uuid.uuid4()}"}
            results = _post_batch(client, body, headers)
            for result in results:
                if result.get("status") == 201:
                    codes[number].append(result["link"]["shortCode"])
                else:
                    refused.append(f"{result.get('status')}: {'; '.join(result.get('errors', []))}")
            bar.advance(task, len(results))

        with ThreadPoolExecutor(SEED_IN_FLIGHT) as pool:
            for future in [pool.submit(one_batch, number) for number in range(len(sizes))]:
                future.result()
    created = [code for batch in codes for code in batch]
    text = "".join(f"{code}\n" for code in created)
    if out is not None:
        out.write_text(text)
    if ctx.as_json:
        summary: dict[str, Any] = {"created": len(created), "refused": len(refused)}
        if out is not None:
            summary["out"] = str(out)
        click.echo(json.dumps(summary))
    if out is None:
        sys.stdout.write(text)
    elif not ctx.as_json:
        ctx.err.print(f"created {len(created)} links; codes in {out}")
    if refused:
        statuses = {reason.split(":", 1)[0] for reason in refused}
        exit_code = UNAVAILABLE if any(s.startswith("5") for s in statuses) else API_REFUSED
        raise CliError(
            f"{len(refused)} of {count} links were not created; first: {refused[0]}",
            "the codes of the links that were created are written",
            exit_code,
        )


def _post_batch(client: AdminClient, body: Any, headers: dict[str, str]) -> list[dict[str, Any]]:
    for attempt in range(3):
        try:
            data = client.json("POST", "/api/v1/links/batch", json=body, headers=headers)
        except CliError as error:
            if error.exit_code != UNAVAILABLE or attempt == 2:
                raise
            continue
        results: list[dict[str, Any]] = data["results"]
        return results
    raise AssertionError("unreachable")


@cli.group()
def keys() -> None:
    """Named API keys (the admin key only)."""


@keys.command(name="create")
@click.argument("name")
@click.option("--read-only", is_flag=True, help="the key may only read")
@pass_context
def keys_create(ctx: Context, name: str, read_only: bool) -> None:
    """Make a key; its secret is shown this once."""
    with ctx.client() as client:
        data = client.json("POST", "/api/v1/keys", json={"name": name, "readOnly": read_only})

    def table(console: Console, key: dict[str, Any]) -> None:
        render.keys(console, [key])
        console.print(f"key: {key.get('key')}   (shown this once)")

    ctx.show(data, table)


@keys.command(name="list")
@pass_context
def keys_list(ctx: Context) -> None:
    """The named keys, never their secrets."""
    with ctx.client() as client:
        data = client.json("GET", "/api/v1/keys")
    if ctx.as_json:
        ctx.show(data, render.keys)
    else:
        render.keys(ctx.out, data["items"])


@keys.command(name="disable")
@click.argument("key_id", metavar="ID")
@pass_context
def keys_disable(ctx: Context, key_id: str) -> None:
    """Refuse a key from its very next request."""
    with ctx.client() as client:
        client.request("DELETE", f"/api/v1/keys/{_path(key_id)}")
    ctx.show({"disabled": key_id}, lambda console, d: console.print(f"disabled {d['disabled']}"))


def _path(segment: str) -> str:
    from urllib.parse import quote

    return quote(segment, safe="")


def main() -> None:
    """The console script: click's own exits for usage, ours for the API's answers."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        Console(stderr=True).print("aborted")
        sys.exit(BAD_USAGE)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(BAD_USAGE if isinstance(error, click.UsageError) else error.exit_code)
    except CliError as error:
        err = Console(stderr=True, highlight=False)
        err.print(f"[bold red]error:[/] {error.message}", markup=True, soft_wrap=True)
        err.print(f"hint: {error.hint}", soft_wrap=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
