"""Key naming: every key of a link carries its hash tag, so scripts run on Redis Cluster."""

from __future__ import annotations

import re
from dataclasses import dataclass

CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{4,64}")
# A tag names a key of its own (`tag:{tag:<name>}`), so it is as plain as a code.
TAG_PATTERN = re.compile(r"[a-z0-9_-]{1,32}")


def is_valid_code(code: str) -> bool:
    """Reject anything that could not be a code before it reaches Redis."""
    return CODE_PATTERN.fullmatch(code) is not None


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str

    def link(self, code: str) -> str:
        """The link's hash: target, limits, counters and password hash."""
        return f"{self.prefix}:link:{{{code}}}"

    def stats(self, code: str) -> str:
        """The link's views by UTC day, referrer host and device class; made by its first view."""
        return f"{self.prefix}:stats:{{{code}}}"

    def preview_stats(self, code: str) -> str:
        """The link's link-preview fetches by UTC day, and in all; made by its first preview."""
        return f"{self.prefix}:stats:{{{code}}}:previews"

    def link_family(self, code: str) -> tuple[str, str, str]:
        """Every key that lives and dies with the link: delete them together, expire them alike.

        resolve_link gives the stats keys the link hash's TTL whenever it records; a script
        that changes the link's TTL (revoke, edit) sets the same on the others.
        """
        return self.link(code), self.stats(code), self.preview_stats(code)

    def owned_keys(self, code: str) -> tuple[str, ...]:
        """Every key under the link's hash tag, which delete_link removes with it: its family
        (stats included), its password-check bucket and its password counters of all clients
        (one hash of failures and one of running checks, a field per client)."""
        return (
            *self.link_family(code),
            self.password_checks(code),
            self.password_failures(code),
            self.password_pending(code),
        )

    def tag(self, name: str) -> str:
        """Sorted set of the codes carrying a tag, scored by creation (ms): its own hash tag."""
        return f"{self.prefix}:tag:{{tag:{name}}}"

    def idempotency(self, caller: str, digest: str) -> str:
        """One Idempotency-Key of one API key (its SHA-256): the first request and its answer."""
        return f"{self.prefix}:idem:{{{caller}:{digest}}}"

    def totals(self, day: str) -> str:
        """The service's counts of one UTC day (YYYY-MM-DD): a hash tag of its own per day."""
        return f"{self.prefix}:totals:{{{day}}}"

    def password_failures(self, code: str) -> str:
        """Wrong password tries on one link: a hash of client -> '<count> <window end, ms>'."""
        return f"{self.prefix}:pwfail:{{{code}}}"

    def password_checks(self, code: str) -> str:
        """The link's password-check rate: when its token bucket is next full (GCRA), ms."""
        return f"{self.prefix}:pwrate:{{{code}}}"

    def password_pending(self, code: str) -> str:
        """Password checks running now on one link: a hash of client -> '<count> <hold end, ms>'."""
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
