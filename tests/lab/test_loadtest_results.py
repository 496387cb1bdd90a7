"""The load report: percentiles, failures by kind and the spread across replicas."""

import math
from collections import Counter

from lab.loadtest.results import build_report, percentile


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert math.isnan(percentile([], 0.99))


def test_report_counts_every_non_2xx_answer_and_every_lost_request_as_failed() -> None:
    report = build_report(
        url="http://127.0.0.1:1",
        duration_s=2.0,
        peak_users=4,
        latencies_ms=[30.0, 10.0, 20.0],
        outcomes=Counter({"ok": 3, "503": 2, "connect": 1, "timeout": 1}),
        replicas=Counter({"replica-0": 2, "replica-1": 1}),
        rejected_with_retry_after=2,
        ok_per_second=[2, 1],
    )
    assert (report.sent, report.ok, report.failed) == (7, 3, 4)
    assert report.errors == {"503": 2, "connect": 1, "timeout": 1}
    assert report.rps == 1.5
    assert (report.p50_ms, report.max_ms) == (20.0, 30.0)
    text = report.format()
    assert "7 sent, 3 ok, 4 failed" in text
    assert "replica-0 2 (67%)" in text
    assert "2 of the 503s carried Retry-After" in text
