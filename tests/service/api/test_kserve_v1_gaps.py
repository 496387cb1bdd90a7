"""What KServe's v1 server answers and Liftoff did not: `inputs` beside `instances`, `GET /` alive,
`{"b64": ...}` for a BYTES input, 405 for a GET on `:predict`; and `GET /v2/` answered where it is asked."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from service.settings import Settings
from tests.service.conftest import handler_model

pytestmark = pytest.mark.anyio


async def test_v1_predict_takes_inputs_as_it_takes_instances(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        inputs = await client.post("/v1/models/linear:predict", json={"inputs": [[1, 0, 0], [2, 2, 2]]})
        both = await client.post(
            "/v1/models/linear:predict", json={"inputs": [[1, 0, 0]], "instances": [[1, 0, 0]]}
        )
        neither = await client.post("/v1/models/linear:predict", json={"rows": [[1, 0, 0]]})
        plain = await client.post("/predict", json={"inputs": [[1, 0, 0]]})
    assert inputs.status_code == 200, inputs.text
    assert inputs.json() == {"predictions": [[1.5, 3.0], [12.5, 29.0]]}
    assert both.status_code == 400 and "not both" in both.json()["error"]
    assert neither.status_code == 400 and "instances" in neither.json()["error"]
    # /predict keeps its one documented name.
    assert plain.status_code == 400 and "instances" in plain.json()["error"]


async def test_get_root_is_kserves_alive(serve) -> None:
    async with serve(Settings()) as client:
        response = await client.get("/")
    assert response.status_code == 200 and response.json() == {"status": "alive"}


async def test_get_on_predict_is_405_not_an_unknown_model(serve) -> None:
    async with serve(Settings()) as client:
        response = await client.get("/v1/models/digits:predict")
        explain = await client.get("/v1/models/digits:explain")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "unknown model" not in response.json()["error"]
    assert explain.status_code == 405


async def test_v2_with_a_slash_answers_the_metadata_without_a_redirect(serve) -> None:
    async with serve(Settings()) as client:
        slash = await client.get("/v2/", follow_redirects=False)
        bare = await client.get("/v2")
    assert slash.status_code == 200
    assert slash.json() == bare.json()


HANDLER = """
import numpy as np

from service.handler import Handler


class Lengths(Handler):
    \"\"\"BYTES [n, 1] -> INT64 [n, 1], each element's length: answers checked by hand.\"\"\"

    def setup(self, context):
        pass

    def decode(self, inputs):
        return [np.array([[len(row[0])] for row in inputs["blob"]], dtype=np.int64)]

    def predict(self, lengths):
        return lengths
"""


@pytest.fixture
def lengths_model(tmp_path: Path) -> Path:
    metadata = {
        "name": "lengths",
        "inputs": [{"name": "blob", "datatype": "BYTES", "shape": [-1, 1]}],
        "outputs": [{"name": "length", "datatype": "INT64", "shape": [-1, 1]}],
        "sample": {"blob": ["x"]},
    }
    return handler_model(tmp_path, metadata, HANDLER)


async def test_v1_b64_elements_of_a_bytes_input_are_its_raw_bytes(serve, lengths_model: Path) -> None:
    blobs = [b"\x00\xff\x10binary", b"", b"\x89PNG\r\n\x1a\n" + bytes(100)]
    instances = [{"b64": base64.b64encode(blob).decode()} for blob in blobs]
    async with serve(Settings(model_path=lengths_model)) as client:
        response = await client.post("/v1/models/lengths:predict", json={"instances": instances})
        bad = await client.post("/v1/models/lengths:predict", json={"instances": [{"b64": "no base64!"}]})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": [[len(blob)] for blob in blobs]}
    assert bad.status_code == 400 and "instances[0].b64 is not valid base64" in bad.json()["error"]


async def test_curls_form_default_content_type_is_taken_as_json(serve) -> None:
    """`curl -d` with no content type sends application/x-www-form-urlencoded."""
    form = {"content-type": "application/x-www-form-urlencoded"}
    async with serve(Settings()) as client:
        json_body = await client.post(
            "/predict", content=b'{"instances": [[' + b"0," * 63 + b"0]]}", headers=form
        )
        v1 = await client.post(
            "/v1/models/digits:predict", content=b'{"instances": [[' + b"0," * 63 + b"0]]}", headers=form
        )
        a_form = await client.post("/predict", content=b"instances=1", headers=form)
    assert json_body.status_code == 200, json_body.text
    assert v1.status_code == 200, v1.text
    assert a_form.status_code == 415
