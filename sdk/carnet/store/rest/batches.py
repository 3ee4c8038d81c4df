"""log-batch requests: a call's metrics, params and tags cut to MLflow's limits, each request
with an idempotency key, and the keys of a failed call kept for its retry.

MLflow's servers take at most 1,000 metrics, 100 params, 100 tags and 1,000
items in all per request, in a body of at most 1,000,000 bytes. A larger call
is sent as several requests, params and tags first (so a param that may not
change is refused before any point is written); each request commits on its
own.

Every request carries a fresh ``X-Carnet-Batch-Id``. ``carnet server``
remembers the ids it has written and answers a repeated one with success
without writing again, so a request repeated after its answer was lost (the
connection broke, the server was killed after committing) adds no point
twice. When a request is repeated after it may have reached the server, it
also carries ``X-Carnet-Batch-Retry: 1``: a server that restarted meanwhile
(and so forgot the id) then takes the batch as written when every one of its
points is already in the run.

A call that fails keeps its ids, by content, in :class:`Unfinished`: the same
call made again (the buffered writer's retry, or the caller's) reuses them and
skips the requests that were written, so a retried call never duplicates
what its first try wrote.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from carnet.store.protocol import MetricPoint
from carnet.store.rest.wire import number

#: MLflow's log-batch limits.
MAX_METRICS = 1000
MAX_PARAMS = 100
MAX_TAGS = 100
MAX_ITEMS = 1000
#: Body size a request is cut at: MLflow's 1,000,000 bytes less room for the envelope.
MAX_BODY_BYTES = 990_000
#: Failed calls whose ids are kept for a retry.
MAX_UNFINISHED = 1024

BATCH_ID_HEADER = "X-Carnet-Batch-Id"
RETRY_HEADER = "X-Carnet-Batch-Retry"


def _metrics(points: Sequence[MetricPoint]) -> Iterator[str]:
    """Each point's JSON object, spelled directly: a key's text is encoded once, a finite
    float is its ``repr`` (valid JSON), and the rest goes through ``json.dumps``."""
    heads: dict[str, str] = {}
    for key, value, timestamp, step in points:
        head = heads.get(key)
        if head is None:
            head = heads[key] = '{"key":' + json.dumps(key, ensure_ascii=False) + ',"value":'
        if value.__class__ is float and math.isfinite(value):
            text = float.__repr__(value)
        else:
            text = json.dumps(number(value), allow_nan=False)
        yield f'{head}{text},"timestamp":{int(timestamp)},"step":{int(step)}}}'


def _pair(pair: tuple[str, str]) -> str:
    return json.dumps({"key": pair[0], "value": pair[1]}, ensure_ascii=False)


def split(
    run_id: str,
    metrics: Sequence[MetricPoint],
    params: Sequence[tuple[str, str]],
    tags: Sequence[tuple[str, str]],
) -> list[bytes]:
    """The JSON bodies of the log-batch requests that carry this call, each within the limits."""
    head = '{"run_id":' + json.dumps(run_id)
    bodies: list[bytes] = []
    parts: dict[str, list[str]] = {"params": [], "tags": [], "metrics": []}
    size = len(head) + 40
    count = 0

    def close() -> None:
        nonlocal size, count
        if count:
            fields = "".join(f',"{kind}":[{",".join(items)}]' for kind, items in parts.items())
            bodies.append((head + fields + "}").encode("utf-8"))
        for items in parts.values():
            items.clear()
        size, count = len(head) + 40, 0

    kinds = (
        ("params", map(_pair, params), MAX_PARAMS),
        ("tags", map(_pair, tags), MAX_TAGS),
        ("metrics", _metrics(metrics), MAX_METRICS),
    )
    for kind, texts, limit in kinds:
        for text in texts:
            width = (len(text) if text.isascii() else len(text.encode("utf-8"))) + 1
            if len(parts[kind]) >= limit or count >= MAX_ITEMS or size + width > MAX_BODY_BYTES:
                close()
            parts[kind].append(text)
            size += width
            count += 1
    close()
    return bodies


def points_only(body: bytes) -> bool:
    """Whether a body of :func:`split` carries metric points and no param or tag (such
    bodies may be sent side by side; a key cannot contain the quotes searched for)."""
    return b',"params":[],"tags":[],"metrics":[' in body[:400]


def fingerprint(run_id: str, bodies: Sequence[bytes]) -> bytes:
    """What identifies a call's content (the same call made again has the same one)."""
    digest = hashlib.blake2b(run_id.encode("utf-8"), digest_size=20)
    for body in bodies:
        digest.update(len(body).to_bytes(8, "big"))
        digest.update(body)
    return digest.digest()


@dataclass
class Attempt:
    """The ids of one call's requests, which of them were written, and whether an earlier
    try may have written the others."""

    ids: list[str]
    done: set[int] = field(default_factory=set)
    retried: bool = False

    @classmethod
    def fresh(cls, requests: int) -> Attempt:
        """New ids for a call of ``requests`` requests."""
        return cls([uuid.uuid4().hex for _ in range(requests)])


class Unfinished:
    """Failed calls' attempts by content fingerprint, the oldest forgotten past a bound."""

    def __init__(self, limit: int = MAX_UNFINISHED) -> None:
        self._calls: OrderedDict[bytes, Attempt] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._calls)

    def take(self, key: bytes) -> Attempt | None:
        """The attempt a failed call with this content left, removed from the memory."""
        with self._lock:
            return self._calls.pop(key, None)

    def keep(self, key: bytes, attempt: Attempt) -> None:
        """Remember a failed call's attempt for its retry."""
        with self._lock:
            self._calls[key] = attempt
            self._calls.move_to_end(key)
            while len(self._calls) > self._limit:
                self._calls.popitem(last=False)
