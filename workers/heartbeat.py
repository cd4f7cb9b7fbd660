"""A background thread that says the worker is alive and keeps its in-flight jobs from being reclaimed."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import redis

from workers.batching import Delivery
from workers.protocol import Keys
from workers.recovery import touch

logger = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, r: redis.Redis, keys: Keys, worker_id: str, info: dict[str, Any], interval_s: float) -> None:
        self.r, self.keys, self.worker_id, self.info, self.interval_s = r, keys, worker_id, info, interval_s
        self._in_flight: list[Delivery] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def set_in_flight(self, deliveries: list[Delivery]) -> None:
        with self._lock:
            self._in_flight = list(deliveries)

    def start(self) -> None:
        self.beat()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval_s * 2)
        pipe = self.r.pipeline()
        for task in self.info["tasks"]:
            pipe.zrem(self.keys.workers(task), self.worker_id)
        pipe.delete(self.keys.worker(self.worker_id))
        try:
            pipe.execute()
        except redis.RedisError as exc:
            # Redis is already gone; the registration expires by itself.
            logger.warning("worker=%s event=deregister_failed reason=%s", self.worker_id, exc)

    def beat(self) -> None:
        now = time.time()
        pipe = self.r.pipeline()
        for task in self.info["tasks"]:
            pipe.zadd(self.keys.workers(task), {self.worker_id: now})
            pipe.zremrangebyscore(self.keys.workers(task), "-inf", now - 3600)  # forget workers gone for an hour
        # Expires by itself if the worker dies; gateways also ignore members with stale scores.
        pipe.set(self.keys.worker(self.worker_id), json.dumps(self.info), ex=max(5, int(self.interval_s * 5)))
        pipe.execute()
        with self._lock:
            in_flight = list(self._in_flight)
        if in_flight:
            touch(self.r, self.keys, self.worker_id, in_flight)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.beat()
            except redis.RedisError as exc:  # Redis down for a while: keep trying, the loop reports it too
                logger.warning("worker=%s event=heartbeat_failed reason=%s", self.worker_id, exc)
