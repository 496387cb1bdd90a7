"""/metrics carries every metric the contract names, and they count what happened."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.settings import Settings

pytestmark = pytest.mark.anyio

CONTRACT = Path(__file__).parents[2] / "docs" / "server.md"


def contract_metric_names() -> list[str]:
    section = CONTRACT.read_text().split("## Metrics", 1)[1]
    return re.findall(r"^\| `(liftoff_[a-z_]+)`", section, flags=re.MULTILINE)


def sample(exposition: str, line_start: str) -> float:
    for line in exposition.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample starting {line_start!r}")


async def test_metrics_expose_every_contract_metric_and_count_requests(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        for _ in range(3):
            assert (
                await client.post("/predict", json={"instances": [[1, 2, 3], [4, 5, 6]]})
            ).status_code == 200
        assert (await client.post("/predict", json={"instances": []})).status_code == 400
        body = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}
        assert (await client.post("/v2/models/linear/infer", json=body)).status_code == 200
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    names = contract_metric_names()
    assert len(names) >= 7
    for name in names:
        assert f"# TYPE {name} " in text, name
    assert sample(text, 'liftoff_requests_total{method="POST",route="/predict",status="200"}') == 3
    assert sample(text, 'liftoff_requests_total{method="POST",route="/predict",status="400"}') == 1
    assert (
        sample(text, 'liftoff_requests_total{method="POST",route="/v2/models/{name}/infer",status="200"}')
        == 1
    )
    assert sample(text, 'liftoff_request_duration_seconds_count{route="/predict"}') == 4
    # 3 x 2 rows + 1 row went through forward passes; the 400 never reached the model.
    assert sample(text, "liftoff_batch_size_sum") == 7
    assert sample(text, "liftoff_inference_duration_seconds_count") == sample(
        text, "liftoff_batch_size_count"
    )
    assert sample(text, "liftoff_queue_depth") == 0
    assert sample(text, "liftoff_requests_in_flight") == 1  # the scrape itself


async def test_unmatched_paths_share_one_route_label(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        for path in ("/a", "/b", "/c/d"):
            await client.get(path)
        text = (await client.get("/metrics")).text
    assert sample(text, 'liftoff_requests_total{method="GET",route="unmatched",status="404"}') == 3
