"""Reading the gateway's /metrics (Prometheus text) into the numbers the Home page shows.

Metric names are the README's table: `visionq_request_duration_seconds` (histogram, the gateway's end-to-end
latency of POST /predict), `visionq_inference_*` counters kept by the workers in Redis.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

LATENCY = "visionq_request_duration_seconds"

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def parse_metrics(text: str) -> list[Sample]:
    """Every sample line of a Prometheus text exposition (comments and blank lines skipped)."""
    samples = []
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if line.startswith("#") or match is None:
            continue
        labels = dict(_LABEL.findall(match["labels"] or ""))
        samples.append(Sample(match["name"], labels, float(match["value"])))
    return samples


@dataclass
class TaskMetrics:
    """One task's counters at one moment (all cumulative since the gateway or Redis started)."""

    requests: float = 0.0
    latency_sum_s: float = 0.0
    #: Cumulative histogram buckets: (upper bound in seconds, requests at or under it), sorted, +Inf last.
    latency_buckets: list[tuple[float, float]] = field(default_factory=list)
    inference_count: float = 0.0
    exec_count: float = 0.0
    queue_us: float = 0.0
    compute_us: float = 0.0
    pending: float = 0.0

    @property
    def mean_latency_ms(self) -> float | None:
        return self.latency_sum_s / self.requests * 1000 if self.requests else None

    @property
    def mean_queue_wait_ms(self) -> float | None:
        return self.queue_us / self.inference_count / 1000 if self.inference_count else None

    @property
    def mean_forward_ms(self) -> float | None:
        return self.compute_us / self.exec_count / 1000 if self.exec_count else None

    @property
    def mean_batch_size(self) -> float | None:
        return self.inference_count / self.exec_count if self.exec_count else None

    def latency_quantile_ms(self, q: float) -> float | None:
        """Estimated quantile, interpolated inside its bucket the way Prometheus' histogram_quantile does."""
        if not self.requests or not self.latency_buckets:
            return None
        rank = q * self.latency_buckets[-1][1]
        lower_bound, lower_count = 0.0, 0.0
        for bound, count in self.latency_buckets:
            if count >= rank:
                if math.isinf(bound):
                    return lower_bound * 1000
                span = count - lower_count
                fraction = (rank - lower_count) / span if span else 1.0
                return (lower_bound + (bound - lower_bound) * fraction) * 1000
            lower_bound, lower_count = bound, count
        return lower_bound * 1000

    def latency_histogram(self) -> list[tuple[str, float]]:
        """Requests per latency bucket (not cumulative), labelled by the bucket's upper bound."""
        rows, previous = [], 0.0
        for bound, count in self.latency_buckets:
            label = "> last" if math.isinf(bound) else f"≤ {bound:g} s"
            rows.append((label, count - previous))
            previous = count
        return rows


_COUNTERS = {
    f"{LATENCY}_count": "requests",
    f"{LATENCY}_sum": "latency_sum_s",
    "visionq_inference_count_total": "inference_count",
    "visionq_inference_exec_count_total": "exec_count",
    "visionq_inference_queue_duration_us_total": "queue_us",
    "visionq_inference_compute_infer_duration_us_total": "compute_us",
    "visionq_inference_pending_request_count": "pending",
}


def task_metrics(samples: list[Sample]) -> dict[str, TaskMetrics]:
    """Per-task metrics from parsed samples; tasks with no sample at all are absent."""
    tasks: dict[str, TaskMetrics] = {}
    for sample in samples:
        task = sample.labels.get("task")
        if task is None or task == "_unknown":
            continue
        metrics = tasks.setdefault(task, TaskMetrics())
        if sample.name in _COUNTERS:
            setattr(metrics, _COUNTERS[sample.name], sample.value)
        elif sample.name == f"{LATENCY}_bucket":
            metrics.latency_buckets.append((float(sample.labels["le"]), sample.value))
    for metrics in tasks.values():
        metrics.latency_buckets.sort()
    return tasks


def interval_latency_ms(before: TaskMetrics | None, after: TaskMetrics) -> float | None:
    """Mean latency of the requests answered between two snapshots (None if there were none)."""
    requests = after.requests - (before.requests if before else 0.0)
    if requests <= 0:
        return None
    return (after.latency_sum_s - (before.latency_sum_s if before else 0.0)) / requests * 1000


def interval_job_ms(before: TaskMetrics | None, after: TaskMetrics) -> float | None:
    """Mean queue wait plus mean forward time of the jobs run between two snapshots (None if none ran).

    POST /predict with async=true (as the frontend sends it) answers once the job is queued, so its latency says
    nothing about the model; this is the worker's side of the same jobs.
    """
    base = before or TaskMetrics()
    items, forwards = after.inference_count - base.inference_count, after.exec_count - base.exec_count
    if items <= 0 or forwards <= 0:
        return None
    return ((after.queue_us - base.queue_us) / items + (after.compute_us - base.compute_us) / forwards) / 1000
