"""The Home page's latency numbers: parsed from Prometheus text as the gateway renders it."""

from __future__ import annotations

import pytest

from frontend.metrics import TaskMetrics, interval_job_ms, interval_latency_ms, parse_metrics, task_metrics

TEXT = """\
# HELP visionq_request_duration_seconds POST /predict end-to-end latency (accept -> answer) by task.
# TYPE visionq_request_duration_seconds histogram
visionq_request_duration_seconds_bucket{le="0.1",task="detection"} 2.0
visionq_request_duration_seconds_bucket{le="0.25",task="detection"} 6.0
visionq_request_duration_seconds_bucket{le="1.0",task="detection"} 10.0
visionq_request_duration_seconds_bucket{le="+Inf",task="detection"} 10.0
visionq_request_duration_seconds_count{task="detection"} 10.0
visionq_request_duration_seconds_sum{task="detection"} 2.5
visionq_inference_count_total{task="detection"} 8.0
visionq_inference_exec_count_total{task="detection"} 4.0
visionq_inference_queue_duration_us_total{task="detection"} 16000.0
visionq_inference_compute_infer_duration_us_total{task="detection"} 200000.0
visionq_inference_pending_request_count{task="detection"} 3.0
visionq_inference_request_failure_total{reason="model",task="noop"} 1.0
visionq_http_requests_total{status="404",task="_unknown"} 1.0
"""


def test_parse_reads_names_labels_and_values_and_skips_comments() -> None:
    samples = parse_metrics(TEXT)
    assert len(samples) == 13
    assert samples[0].name == "visionq_request_duration_seconds_bucket"
    assert samples[0].labels == {"le": "0.1", "task": "detection"}
    assert samples[-2].labels == {"reason": "model", "task": "noop"}


def test_task_metrics_derive_means_quantiles_and_histogram() -> None:
    m = task_metrics(parse_metrics(TEXT))
    assert set(m) == {"detection", "noop"}, "the _unknown label is not a task"
    det = m["detection"]
    assert det.mean_latency_ms == pytest.approx(250.0)
    assert det.mean_queue_wait_ms == pytest.approx(2.0)
    assert det.mean_forward_ms == pytest.approx(50.0)
    assert det.mean_batch_size == pytest.approx(2.0)
    assert det.pending == 3.0
    # rank 5 of 10 falls in (0.1, 0.25]: 3 of its 4 requests in -> 0.1 + 0.15 * 3/4
    assert det.latency_quantile_ms(0.5) == pytest.approx(212.5)
    assert det.latency_histogram() == [("≤ 0.1 s", 2.0), ("≤ 0.25 s", 4.0), ("≤ 1 s", 4.0), ("> last", 0.0)]
    assert m["noop"].mean_latency_ms is None and m["noop"].latency_quantile_ms(0.5) is None


def test_interval_latency_is_the_mean_of_requests_between_snapshots() -> None:
    before = TaskMetrics(requests=10, latency_sum_s=2.5)
    after = TaskMetrics(requests=14, latency_sum_s=3.3)
    assert interval_latency_ms(before, after) == pytest.approx(200.0)
    assert interval_latency_ms(after, after) is None
    assert interval_latency_ms(None, before) == pytest.approx(250.0)


def test_interval_job_time_is_queue_wait_per_item_plus_forward_per_batch() -> None:
    before = TaskMetrics(inference_count=8, exec_count=4, queue_us=16_000, compute_us=200_000)
    after = TaskMetrics(inference_count=12, exec_count=5, queue_us=24_000, compute_us=260_000)
    assert interval_job_ms(before, after) == pytest.approx(2.0 + 60.0)
    assert interval_job_ms(after, after) is None
