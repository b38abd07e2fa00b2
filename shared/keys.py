"""Key naming: every key of a link carries its hash tag, so scripts run on Redis Cluster."""

from __future__ import annotations

import re
from dataclasses import dataclass

CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{4,64}")


def is_valid_code(code: str) -> bool:
    """Reject anything that could not be a code before it reaches Redis."""
    return CODE_PATTERN.fullmatch(code) is not None


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str

    def link(self, code: str) -> str:
        """The link's hash: target, limits, counters and password hash."""
        return f"{self.prefix}:link:{{{code}}}"

    def password_failures(self, code: str, client: str) -> str:
        """Wrong password tries of one client on one link."""
        return f"{self.prefix}:pwfail:{{{code}}}:{client}"

    def password_failures_all(self, code: str) -> str:
        """Wrong password tries of all clients on one link."""
        return f"{self.prefix}:pwfail:{{{code}}}"

    def password_pending(self, code: str, client: str) -> str:
        """Password checks of one client on one link that are running now."""
        return f"{self.prefix}:pwpend:{{{code}}}:{client}"

    def password_pending_all(self, code: str) -> str:
        """Password checks of all clients on one link that are running now."""
        return f"{self.prefix}:pwpend:{{{code}}}"

    @property
    def index(self) -> str:
        """A stream of created codes, newest last, for listing."""
        return f"{self.prefix}:index"

    @property
    def api_keys(self) -> str:
        """Hash of API key id -> record (JSON); one hash tag with the digests, for MULTI."""
        return f"{self.prefix}:{{apikeys}}:records"

    @property
    def api_key_digests(self) -> str:
        """Hash of an enabled API key's SHA-256 digest -> key id."""
        return f"{self.prefix}:{{apikeys}}:digests"

    @property
    def api_key_last_used(self) -> str:
        """Hash of API key id -> last use (ms); kept apart so it never races a disable."""
        return f"{self.prefix}:{{apikeys}}:used"

    @property
    def files(self) -> str:
        """Sorted set of stored file names by the time their link's keys expire (ms)."""
        return f"{self.prefix}:files"
