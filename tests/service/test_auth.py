"""API keys: every route but the probes, the metrics and the docs needs `Authorization: Bearer <key>`."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

import pytest

from service.auth import RELOAD_INTERVAL_S, KeyStore, parse_keys
from service.settings import Settings

pytestmark = pytest.mark.anyio

KEY_A = "lk_alpha_0123456789abcdef"
KEY_B = "lk_bravo_fedcba9876543210"
ROW = {"instances": [[1.0, 2.0, 3.0]]}
PROTECTED = [
    ("POST", "/predict"),
    ("POST", "/v2/models/linear/infer"),
    ("POST", "/v2/models/linear/versions/3/infer"),
    ("GET", "/v2"),
    ("GET", "/v2/models/linear"),
    ("GET", "/v2/models/linear/ready"),
]
OPEN = ["/healthz", "/readyz", "/v2/health/live", "/v2/health/ready", "/metrics", "/openapi.json"]


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


async def call(client, method: str, path: str, headers: dict[str, str] | None = None):
    body = ROW if path == "/predict" else None
    if "infer" in path:
        body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [1, 2, 3]}]}
    return await client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_protected_routes_refuse_a_missing_or_wrong_key(
    serve, linear_model: Path, method: str, path: str
) -> None:
    wrong_bytes_same_length = KEY_A[:-1] + ("0" if KEY_A[-1] != "0" else "1")
    async with serve(Settings(model_path=linear_model, api_keys=KEY_A)) as client:
        answers = [
            await call(client, method, path),
            await call(client, method, path, bearer("nope")),
            await call(client, method, path, bearer(wrong_bytes_same_length)),
            await call(client, method, path, {"authorization": f"Basic {KEY_A}"}),
        ]
        accepted = await call(client, method, path, bearer(KEY_A))
    for answer in answers:
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert KEY_A not in answer.text and "nope" not in answer.text
        assert "Bearer <key>" in answer.json()["error"]
    assert accepted.status_code == 200, accepted.text


async def test_every_configured_key_is_accepted_and_the_scheme_is_case_insensitive(
    serve, linear_model: Path
) -> None:
    async with serve(Settings(model_path=linear_model, api_keys=f"{KEY_A}, {KEY_B}")) as client:
        a = await client.post("/predict", json=ROW, headers=bearer(KEY_A))
        b = await client.post("/predict", json=ROW, headers={"authorization": f"bearer {KEY_B}"})
    assert a.status_code == b.status_code == 200
    assert a.json() == b.json() == {"predictions": [[14.5, 31.0]]}  # y = W x + b, by hand


async def test_probes_metrics_and_docs_stay_open(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model, api_keys=KEY_A)) as client:
        for path in OPEN:
            assert (await client.get(path)).status_code == 200, path


async def test_no_keys_configured_serves_openly(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        assert (await client.post("/predict", json=ROW)).status_code == 200


async def test_keys_rotate_by_rewriting_the_key_file_without_a_restart(
    serve, linear_model: Path, tmp_path: Path
) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"# rotated by the operator\n{KEY_A}\n")
    async with serve(Settings(model_path=linear_model, api_keys_file=keys_file)) as client:
        assert (await client.post("/predict", json=ROW, headers=bearer(KEY_A))).status_code == 200
        assert (await client.post("/predict", json=ROW, headers=bearer(KEY_B))).status_code == 401
        # As a Kubernetes Secret volume updates: a new file swapped in under the same name.
        replacement = tmp_path / "keys.new"
        replacement.write_text(f"{KEY_B}\n")
        os.replace(replacement, keys_file)

        async def new_key_works() -> bool:
            return (await client.post("/predict", json=ROW, headers=bearer(KEY_B))).status_code == 200

        deadline = time.monotonic() + 10 * RELOAD_INTERVAL_S
        for _ in range(1000):  # the key file is re-read within RELOAD_INTERVAL_S of the change
            if await new_key_works() or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert await new_key_works()
        assert (await client.post("/predict", json=ROW, headers=bearer(KEY_A))).status_code == 401


async def test_keys_never_reach_the_logs_the_metrics_or_a_response(
    serve, linear_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with serve(Settings(model_path=linear_model, api_keys=KEY_A)) as client:
        responses = [
            await client.post("/predict", json=ROW, headers=bearer(KEY_A)),
            await client.post("/predict", json=ROW, headers=bearer(KEY_B)),
            await client.post("/predict", content=b"{", headers=bearer(KEY_A)),
            await client.get("/v2/models/linear", headers=bearer(KEY_A)),
        ]
        metrics = (await client.get("/metrics")).text
    for text in [caplog.text, metrics, *(r.text + str(r.headers) for r in responses)]:
        assert KEY_A not in text and KEY_B not in text
    assert 'status="401"' in metrics  # refusals are counted, with no key in any label


def test_an_empty_or_missing_key_file_refuses_everything_rather_than_opening(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("\n# no keys yet\n")
    store = KeyStore(keys_file=keys_file)
    assert store.enabled and not store.accepts("anything") and not store.accepts("")
    keys_file.unlink()
    store._next_check = 0.0
    assert store.enabled and not store.accepts_authorization(f"Bearer {KEY_A}")


def test_key_lists_take_commas_lines_and_comment_lines() -> None:
    # A `#` after a key is no comment: the entry breaks the key rule and is refused, never cut to `k3`.
    assert parse_keys(f" {KEY_A} ,{KEY_B}\n\n# c\nk3 # trailing\nk4\n") == [KEY_A, KEY_B, "k4"]


def test_a_key_file_that_does_not_exist_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no API key file"):
        Settings(api_keys_file=tmp_path / "missing")
