"""Prometheus metrics, named and split the way Triton names its own (nv_inference_* -> visionq_inference_*).

Two sources: the gateway's own counters (HTTP requests, end-to-end latency) live in this process; the workers'
counters (success/failure, items vs batches, queue and compute time, batch sizes) live in Redis hashes that any
gateway reads, so every gateway reports the whole deployment.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from workers.protocol import BATCH_SIZE_BUCKETS

LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class GatewayMetrics:
    """Per-process HTTP metrics. One instance per app, on its own registry (tests build many apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "visionq_http_requests",
            "POST /predict requests by task and HTTP status.",
            ["task", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "visionq_request_duration_seconds",
            "POST /predict end-to-end latency (accept -> answer) by task.",
            ["task"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )


class _DeploymentCollector(Collector):
    """Renders a snapshot of the workers' counters and queue state taken just before a scrape."""

    def __init__(self, stats: dict[str, dict[str, float]], pending: dict[str, int], workers: dict[str, int]) -> None:
        self.stats, self.pending, self.workers = stats, pending, workers

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        yield from self._counters()
        yield self._gauge("visionq_inference_pending_request_count", "Jobs queued or running.", self.pending)
        yield self._gauge("visionq_workers", "Workers with a live heartbeat.", self.workers)
        yield self._batch_histogram()

    def _counters(self) -> Iterator[CounterMetricFamily]:
        specs = [
            ("visionq_inference_request_success", "Jobs that succeeded.", "request_success", 1.0),
            ("visionq_inference_count", "Items inferred (each job is one item).", "inference_count", 1.0),
            ("visionq_inference_exec_count", "Batched forward calls (a batch counts once).", "exec_count", 1.0),
            ("visionq_inference_queue_duration_us", "Total time jobs waited in the queue, us.", "queue_us", 1.0),
            ("visionq_inference_compute_infer_duration_us", "Total forward time, us.", "compute_us", 1.0),
        ]
        for name, doc, field, scale in specs:
            family = CounterMetricFamily(name, doc, labels=["task"])
            for task, stats in self.stats.items():
                family.add_metric([task], stats.get(field, 0.0) * scale)
            yield family
        failure = CounterMetricFamily(
            "visionq_inference_request_failure", "Jobs that failed, by reason.", labels=["task", "reason"]
        )
        for task, stats in self.stats.items():
            for field, value in stats.items():
                if field.startswith("failure:"):
                    failure.add_metric([task, field.removeprefix("failure:")], value)
        yield failure

    @staticmethod
    def _gauge(name: str, doc: str, values: dict[str, int]) -> GaugeMetricFamily:
        family = GaugeMetricFamily(name, doc, labels=["task"])
        for task, value in values.items():
            family.add_metric([task], value)
        return family

    def _batch_histogram(self) -> HistogramMetricFamily:
        family = HistogramMetricFamily("visionq_batch_size", "Items per batched forward call.", labels=["task"])
        for task, stats in self.stats.items():
            buckets = [(str(b), stats.get(f"batch_le:{b}", 0.0)) for b in BATCH_SIZE_BUCKETS]
            buckets.append(("+Inf", stats.get("exec_count", 0.0)))
            family.add_metric([task], buckets, sum_value=stats.get("inference_count", 0.0))
        return family


def render_metrics(
    gateway: GatewayMetrics,
    stats: dict[str, dict[str, float]],
    pending: dict[str, int],
    workers: dict[str, int],
) -> bytes:
    snapshot = CollectorRegistry()
    snapshot.register(_DeploymentCollector(stats, pending, workers))
    return generate_latest(gateway.registry) + generate_latest(snapshot)
