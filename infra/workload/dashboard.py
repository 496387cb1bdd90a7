"""The Grafana dashboard of the inference server's metrics (docs/server.md), as JSON."""

from __future__ import annotations

import json
from typing import Any

from infra.workload.autoscaling import INFERENCE_ROUTES


def dashboard_json(namespace: str) -> str:
    where = f'namespace="{namespace}"'
    panels = [
        (
            "Requests per second by status",
            f"sum by (status) (rate(liftoff_requests_total{{{where}}}[1m]))",
            "reqps",
        ),
        (
            "p95 inference latency",
            "histogram_quantile(0.95, sum by (le) (rate(liftoff_request_duration_seconds_bucket"
            f'{{{where},route=~"{INFERENCE_ROUTES}"}}[2m])))',
            "s",
        ),
        ("Queue depth per pod", f"liftoff_queue_depth{{{where}}}", "short"),
        (
            "Mean batch size",
            f"sum(rate(liftoff_batch_size_sum{{{where}}}[2m]))"
            f" / sum(rate(liftoff_batch_size_count{{{where}}}[2m]))",
            "short",
        ),
        (
            "Rejected per second by reason",
            f"sum by (reason) (rate(liftoff_rejected_total{{{where}}}[1m]))",
            "reqps",
        ),
        ("Ready replicas", f'count(up{{{where},job=~".*inference.*"}} == 1)', "short"),
    ]
    dashboard: dict[str, Any] = {
        "title": "Liftoff inference",
        "uid": f"liftoff-{namespace}",
        "schemaVersion": 39,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "panels": [
            {
                "id": index + 1,
                "type": "timeseries",
                "title": title,
                "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [{"expr": expr, "refId": "A"}],
            }
            for index, (title, expr, unit) in enumerate(panels)
        ],
    }
    return json.dumps(dashboard, indent=1)
