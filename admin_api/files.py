"""POST /api/v1/files: a multipart upload streamed to disk, then a file link to it.

The body is parsed chunk by chunk (python-multipart's low-level parser): the `file` part goes
straight to a file with a random name under SECURELINK_DATA_DIR/files, hashed on the way; the
other parts, at most 64 KiB together, are kept as text. Form fields may come before or after
the file, so the fields are validated once the body has ended, and every error (the file's
and the fields') is reported at once. Past SECURELINK_MAX_UPLOAD_BYTES the upload stops with
413. On any failure (413, 400, 409, a client that goes away, Redis down) the file is deleted.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import unicodedata
from pathlib import Path
from typing import Any, BinaryIO

from python_multipart.multipart import parse_options_header
from starlette.requests import Request
from starlette.responses import Response

from admin_api.errors import (
    Conflict,
    IdempotencyInProgress,
    MalformedBody,
    PayloadTooLarge,
    ValidationFailed,
)
from admin_api.idempotency import Earlier, Idempotency
from admin_api.links import StoredFile
from admin_api.services import services
from admin_api.validation import NewLink, validate_link_request
from shared import multipart
from shared.errors import json_response
from shared.files import DEFAULT_FILE_NAME, files_dir, safe_media_type
from shared.models import now_ms

FILE_FIELD = "file"
FORM_FIELDS = ("expiresAt", "maxViews", "password", "customCode", "tags", "clickToOpen")
MAX_FORM_BYTES = 64 * 1024  # everything in the body but the file's bytes
FLUSH_BYTES = 1024 * 1024  # buffered file bytes handed to a thread for writing and hashing
MAX_FILE_NAME = 255
_MALFORMED = "Malformed multipart/form-data body"


def clean_file_name(raw: str) -> str:
    """The last path segment, NFC, without control or format characters, at most 255 long."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp"))
    name = name.strip()
    if name.strip(".") == "":
        return DEFAULT_FILE_NAME
    if len(name) > MAX_FILE_NAME:
        stem, dot, suffix = name.rpartition(".")
        if dot and len(suffix) <= 16:
            return stem[: MAX_FILE_NAME - len(suffix) - 1] + "." + suffix
        return name[:MAX_FILE_NAME]
    return name


class _FileSink:
    """The file part on its way to disk: buffered in memory up to FLUSH_BYTES, no more."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.stored_name = secrets.token_hex(16)
        self.path = directory / self.stored_name
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.handle: BinaryIO = os.fdopen(fd, "wb")
        self.max_bytes = max_bytes
        self.digest = hashlib.sha256()
        self.size = 0
        self.pending: list[bytes] = []
        self.pending_bytes = 0

    def add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise PayloadTooLarge(f"File exceeds {self.max_bytes} bytes")
        self.pending.append(data)
        self.pending_bytes += len(data)

    def write_pending(self) -> None:
        """Runs in a thread: disk writes and SHA-256 (which releases the GIL) off the loop."""
        chunks, self.pending, self.pending_bytes = self.pending, [], 0
        for chunk in chunks:
            self.handle.write(chunk)
            self.digest.update(chunk)

    def close(self) -> bool:
        """Flush and close; False if the file was deleted under us (a stalled upload swept)."""
        self.handle.flush()
        still_linked = os.fstat(self.handle.fileno()).st_nlink > 0
        self.handle.close()
        return still_linked

    def delete(self) -> None:
        if not self.handle.closed:
            self.handle.close()
        self.path.unlink(missing_ok=True)


class MultipartUpload:
    """Feeds a multipart body through the parser; knows the file part and the form fields."""

    def __init__(self, boundary: bytes, directory: Path, max_file_bytes: int) -> None:
        self.directory = directory
        self.max_file_bytes = max_file_bytes
        self.fields: dict[str, str] = {}
        self.file: _FileSink | None = None
        self.file_name = DEFAULT_FILE_NAME
        self.content_type = safe_media_type(None)
        self.file_parts = 0
        self.finished = False
        self.body_bytes = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._part: str | None = None  # FILE_FIELD, a form field's name, or None to skip
        self._value = bytearray()
        callbacks: Any = {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_end": self._on_end,
        }
        try:
            self.parser = multipart.multipart_parser(boundary, callbacks)
        except multipart.MalformedMultipart:
            raise MalformedBody(_MALFORMED) from None

    async def feed(self, chunk: bytes) -> None:
        self.body_bytes += len(chunk)
        try:
            multipart.write(self.parser, chunk)
        except multipart.MalformedMultipart:
            raise MalformedBody(_MALFORMED) from None
        file_bytes = self.file.size if self.file else 0
        if self.body_bytes - file_bytes > MAX_FORM_BYTES:
            raise PayloadTooLarge(f"Form fields exceed {MAX_FORM_BYTES} bytes")
        if self.file is not None and self.file.pending_bytes >= FLUSH_BYTES:
            await asyncio.to_thread(self.file.write_pending)

    async def finish(self) -> StoredFile | None:
        """After the last chunk: the stored file, or None when there is no usable file part."""
        if not self.finished:
            raise MalformedBody(_MALFORMED)
        if self.file is None or self.file.size == 0 or self.file_parts != 1:
            return None
        file = self.file
        await asyncio.to_thread(file.write_pending)
        if not await asyncio.to_thread(file.close):
            raise MalformedBody("The upload stalled for too long; send it again")
        return StoredFile(
            stored_name=file.stored_name,
            file_name=self.file_name,
            size=file.size,
            content_type=self.content_type,
            sha256=file.digest.hexdigest(),
        )

    def file_errors(self) -> list[str]:
        if self.file_parts == 0:
            return ["file: must be present"]
        if self.file_parts > 1:
            return ["file: must be a single part"]
        if self.file is None or self.file.size == 0:
            return ["file: must not be empty"]
        return []

    def discard(self) -> None:
        if self.file is not None:
            self.file.delete()

    def _on_part_begin(self) -> None:
        self._headers = {}
        self._part = None
        self._value = bytearray()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[self._header_name.decode("latin-1").lower()] = bytes(self._header_value)
        self._header_name = bytearray()
        self._header_value = bytearray()

    def _on_headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get("content-disposition"))
        if disposition != b"form-data":
            return
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == FILE_FIELD:
            self.file_parts += 1
            if self.file_parts == 1:
                # Header parameters arrive as raw UTF-8 (what browsers and curl send).
                raw_name = options.get(b"filename", b"").decode("utf-8", "replace")
                self.file_name = clean_file_name(raw_name)
                self.content_type = safe_media_type(
                    self._headers.get("content-type", b"").decode("latin-1")
                )
                self.file = _FileSink(self.directory, self.max_file_bytes)
                self._part = FILE_FIELD
        elif name in FORM_FIELDS and name not in self.fields:
            self._part = name

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part == FILE_FIELD:
            assert self.file is not None
            self.file.add(data[start:end])
        elif self._part is not None:
            self._value += data[start:end]

    def _on_part_end(self) -> None:
        if self._part is not None and self._part != FILE_FIELD:
            self.fields[self._part] = self._value.decode("utf-8", "replace")
        self._part = None

    def _on_end(self) -> None:
        self.finished = True


def _boundary(request: Request) -> bytes:
    media, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary", b"")
    if media != b"multipart/form-data" or not boundary:
        raise MalformedBody("Expected a multipart/form-data body with a file part")
    return boundary


def _check_declared_length(request: Request, max_file_bytes: int) -> None:
    """Refuse before reading a byte when Content-Length already says the file cannot fit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_file_bytes + MAX_FORM_BYTES:
        raise PayloadTooLarge(f"File exceeds {max_file_bytes} bytes")


def _validated(upload: MultipartUpload) -> NewLink:
    """Every failing field at once: the file's error first, then the form fields' in order."""
    errors = upload.file_errors()
    try:
        new = validate_link_request(
            upload.fields, now_ms=now_ms(), from_form=True, needs_target=False
        )
    except ValidationFailed as exc:
        raise ValidationFailed(errors + exc.errors) from None
    if errors:
        raise ValidationFailed(errors)
    return new


def upload_fingerprint(fields: dict[str, str], file_sha256: str | None) -> str:
    """An upload's identity for Idempotency-Key: its form fields and its file's SHA-256."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    text = f"/api/v1/files\n{canonical}\n{file_sha256 or ''}"
    return hashlib.sha256(text.encode()).hexdigest()


async def create_file(request: Request) -> Response:
    """The upload, with an optional Idempotency-Key: claimed before the body is read (so a
    second request while the first uploads gets its 409 at once), compared after, since the
    file's hash is known only then."""
    idempotency = services(request).idempotency
    record = idempotency.record_of(request)
    if record is None:
        response, _ = await _create_file(request, None)
        return response
    earlier = await idempotency.claim(record, "")
    if earlier is not None:
        if earlier.status is None:
            raise IdempotencyInProgress()
        response, _ = await _create_file(request, earlier)
        return response
    try:
        response, print_ = await _create_file(request, None)
    except BaseException:
        await idempotency.release(record)  # nothing was created: a retry may try again
        raise
    await idempotency.finish(record, print_, response)
    return response


async def _create_file(request: Request, earlier: Earlier | None) -> tuple[Response, str]:
    """The upload's answer and fingerprint; given an earlier answer, that one for the same
    upload (the new copy of the file is dropped) or 422. A client gone mid-upload raises
    ClientDisconnect, its file discarded: nobody is answered (CatchAll)."""
    found = services(request)
    settings = found.settings
    boundary = _boundary(request)
    _check_declared_length(request, settings.max_upload_bytes)
    upload = MultipartUpload(boundary, files_dir(settings), settings.max_upload_bytes)
    try:
        async for chunk in request.stream():
            await upload.feed(chunk)
        stored = await upload.finish()
        print_ = upload_fingerprint(upload.fields, stored.sha256 if stored else None)
        if earlier is not None:
            upload.discard()
            return Idempotency.answer(earlier, print_), print_
        new = _validated(upload)
        assert stored is not None
    except BaseException:
        upload.discard()
        raise
    try:
        link = await found.links.create(new, stored, tracker=found.sweeper)
    except Conflict:
        upload.discard()  # the code was taken: no link names this file
        raise
    # Any other failure may have come after the link was stored: the file stays, and the
    # sweeper deletes it once its record shows no link (or, unrecorded, after the grace).
    location = {"Location": f"/api/v1/links/{link.short_code}"}
    return json_response(201, link, location), print_
