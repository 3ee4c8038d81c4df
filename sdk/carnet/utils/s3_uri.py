"""``s3://bucket/prefix`` URIs: parsed, checked and joined as text, with no I/O.

The settings (``CARNET_ARTIFACT_ROOT``), the checks on artifact locations and
the S3 artifact backend all read S3 locations through :class:`S3Uri`, so a
location that could name a key outside its prefix (``..``, an empty part, a
query) is refused in one place, before any request is made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: S3's own rule for bucket names: 3 to 63 lower-case letters, digits, dots and hyphens.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
SCHEME = "s3://"


def is_s3_uri(text: str) -> bool:
    """Whether ``text`` names an S3 location (the scheme, in any case)."""
    return text[: len(SCHEME)].lower() == SCHEME


@dataclass(frozen=True)
class S3Uri:
    """A bucket and a key prefix (parts joined by ``/``, no leading or trailing slash)."""

    bucket: str
    prefix: str

    @property
    def parts(self) -> tuple[str, ...]:
        """The prefix's names, outermost first."""
        return tuple(self.prefix.split("/")) if self.prefix else ()

    def child(self, *names: str) -> S3Uri:
        """The location ``names`` below this one (each a checked plain name)."""
        for name in names:
            _check_part(name, f"{self}/{name}")
        return S3Uri(self.bucket, "/".join((*self.parts, *names)))

    def is_below(self, root: S3Uri, *, strictly: bool) -> bool:
        """Whether this location lies under ``root`` (compared name by name, never as text)."""
        n = len(root.parts)
        inside = self.bucket == root.bucket and self.parts[:n] == root.parts
        return inside and not (strictly and len(self.parts) == n)

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}" if self.prefix else f"{SCHEME}{self.bucket}"


def _check_part(part: str, text: str) -> None:
    if part in ("", ".", "..") or "\x00" in part or "\\" in part:
        raise ValueError(
            f"{text!r} has an empty, '.', '..' or malformed name in its key prefix; "
            "give s3://bucket/plain/prefix"
        )


def parse_s3_uri(text: str) -> S3Uri:
    """``s3://bucket[/prefix]`` as an :class:`S3Uri`; ValueError saying what is wrong.

    A trailing slash is dropped; a query, fragment, credentials in the host, an
    invalid bucket name or a prefix with ``..`` or empty names are refused.
    """
    if not is_s3_uri(text):
        raise ValueError(f"{text!r} is not an s3://bucket/prefix URI")
    rest = text[len(SCHEME) :].rstrip("/")
    if any(c in rest for c in "?#\x00") or any(ord(c) < 32 for c in rest):
        raise ValueError(f"{text!r} has a query, fragment or control character")
    bucket, _, prefix = rest.partition("/")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise ValueError(
            f"{text!r} names the bucket {bucket!r}; bucket names are 3 to 63 lower-case "
            "letters, digits, dots and hyphens"
        )
    for part in prefix.split("/") if prefix else ():
        _check_part(part, text)
    return S3Uri(bucket, prefix)


__all__ = ["SCHEME", "S3Uri", "is_s3_uri", "parse_s3_uri"]
