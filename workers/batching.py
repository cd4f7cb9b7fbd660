"""Dynamic batching: read up to max_batch_size deliveries, waiting at most max_batch_delay_ms for more."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import redis

from workers.protocol import CONSUMER_GROUP, Keys

T = TypeVar("T")

#: How long the first read of an idle worker blocks; bounds how late it notices SIGTERM or due reclaims.
IDLE_BLOCK_MS = 500


@dataclass(frozen=True)
class Delivery:
    """One stream entry handed to this worker: which job, from which stream entry, and whether reclaimed."""

    task: str
    entry_id: str
    job_id: str
    reclaimed: bool = False


def parse_entries(task: str, entries: Iterable[Any], reclaimed: bool = False) -> tuple[list[Delivery], list[str]]:
    """Split raw (id, fields) entries into deliveries and ids of entries whose fields were deleted."""
    deliveries, orphans = [], []
    for entry_id, fields in entries:
        eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        if not fields or b"job" not in fields:
            orphans.append(eid)
            continue
        deliveries.append(Delivery(task, eid, fields[b"job"].decode(), reclaimed))
    return deliveries, orphans


def read_batch(
    r: redis.Redis,
    keys: Keys,
    consumer: str,
    tasks: list[str],
    max_batch_size: int,
    max_batch_delay_ms: float,
    block_ms: int = IDLE_BLOCK_MS,
) -> list[Delivery]:
    """Block up to `block_ms` for the first entries, then top the batch up for at most `max_batch_delay_ms`."""
    streams: dict[Any, Any] = {keys.stream(t): ">" for t in tasks}
    by_stream = {keys.stream(t): t for t in tasks}
    batch: list[Delivery] = []
    deadline: float | None = None
    wait_ms = block_ms
    while len(batch) < max_batch_size:
        reply: Any = r.xreadgroup(CONSUMER_GROUP, consumer, streams, count=max_batch_size - len(batch), block=wait_ms)
        for stream, entries in reply or []:
            name = stream.decode() if isinstance(stream, bytes) else stream
            got, _ = parse_entries(by_stream[name], entries)
            batch.extend(got)
        if not batch:
            return batch
        if deadline is None:
            deadline = time.monotonic() + max_batch_delay_ms / 1000
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        if remaining_ms < 1:  # BLOCK 0 would mean "forever"
            break
        wait_ms = remaining_ms
    return batch


def group_by(items: Iterable[T], key: Callable[[T], Hashable]) -> list[list[T]]:
    """Stable grouping: groups in order of first appearance, items in arrival order within a group."""
    groups: dict[Hashable, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return list(groups.values())
