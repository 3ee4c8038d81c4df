"""Page tokens of searches: opaque to callers, an offset inside."""

from __future__ import annotations

import base64
import json

from carnet.errors import InvalidInputError

#: Page tokens carry an offset; ours never come near this, a forged one is refused.
_MAX_OFFSET = 2**62


def encode_page_token(offset: int) -> str:
    """An opaque token for the next page of a search: the offset it starts at."""
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    """The offset in a page token a search returned; anything else is InvalidInputError."""
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise ValueError
        if not 0 <= offset < _MAX_OFFSET:
            raise ValueError
        return offset
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InvalidInputError(
            f"invalid page token {token!r}; pass the token a previous search returned."
        ) from None
