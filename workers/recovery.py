"""Recovery of abandoned jobs: reclaim entries idle past the visibility timeout; dead-letter the hopeless."""

from __future__ import annotations

import logging
from typing import Any

import redis

from workers.batching import Delivery, parse_entries
from workers.protocol import CONSUMER_GROUP, Keys

logger = logging.getLogger(__name__)


def ensure_groups(r: redis.Redis, keys: Keys, tasks: list[str]) -> None:
    """Create each task's stream and consumer group if missing (MKSTREAM; an existing group is fine)."""
    for task in tasks:
        try:
            r.xgroup_create(keys.stream(task), CONSUMER_GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


def reclaim(
    r: redis.Redis, keys: Keys, consumer: str, tasks: list[str], min_idle_ms: int, count: int
) -> list[Delivery]:
    """XAUTOCLAIM entries another consumer has held for `min_idle_ms` without a sign of life."""
    claimed: list[Delivery] = []
    for task in tasks:
        stream = keys.stream(task)
        reply: Any = r.xautoclaim(stream, CONSUMER_GROUP, consumer, min_idle_ms, start_id="0-0", count=count)
        entries = reply[1] if len(reply) > 1 else []
        deliveries, orphans = parse_entries(task, entries, reclaimed=True)
        if orphans:  # entries deleted while pending (Redis 6.2 returns them with no fields)
            r.xack(stream, CONSUMER_GROUP, *orphans)
        for d in deliveries:
            logger.info("job=%s task=%s event=reclaimed by=%s", d.job_id, task, consumer)
        claimed.extend(deliveries)
    return claimed


def touch(r: redis.Redis, keys: Keys, consumer: str, in_flight: list[Delivery]) -> None:
    """Reset the idle time of entries this worker is still working on, so long jobs aren't reclaimed."""
    by_task: dict[str, list[Any]] = {}
    for d in in_flight:
        by_task.setdefault(d.task, []).append(d.entry_id)
    for task, ids in by_task.items():
        r.xclaim(keys.stream(task), CONSUMER_GROUP, consumer, 0, ids, justid=True)
