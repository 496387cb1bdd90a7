"""examples/image-classifier: a PNG in, the top 3 digit names out, through the handler's Pillow decoding."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as triton
from PIL import Image

from service.settings import Settings

pytestmark = pytest.mark.anyio

NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def expected(directory: Path) -> str:
    return NAMES[int((directory / "digit.label").read_text())]


async def test_a_png_body_gets_the_top_3_names(serve, image_classifier: Path) -> None:
    png = (image_classifier / "digit.png").read_bytes()
    async with serve(Settings(model_path=image_classifier)) as client:
        response = await client.post("/predict", content=png, headers={"content-type": "image/png"})
        upload = await client.post("/predict", files={"image": ("digit.png", png, "image/png")})
    assert response.status_code == 200, response.text
    prediction = response.json()["predictions"][0]
    assert prediction["classes"][0] == expected(image_classifier) and len(prediction["classes"]) == 3
    assert (
        prediction["scores"] == sorted(prediction["scores"], reverse=True)
        and 0 < sum(prediction["scores"]) <= 1.0001
    )
    assert upload.json() == response.json()


async def test_a_jpeg_of_the_same_digit_gets_the_same_answer(serve, image_classifier: Path) -> None:
    out = io.BytesIO()
    Image.open(image_classifier / "digit.png").convert("RGB").save(out, format="JPEG", quality=95)
    async with serve(Settings(model_path=image_classifier)) as client:
        response = await client.post(
            "/predict", content=out.getvalue(), headers={"content-type": "image/jpeg"}
        )
    assert response.json()["predictions"][0]["classes"][0] == expected(image_classifier)


async def test_tritonclient_bytes_inputs(serve, image_classifier: Path) -> None:
    png = (image_classifier / "digit.png").read_bytes()
    image = triton.InferInput("image", [2], "BYTES")
    image.set_data_from_numpy(np.array([png, png], dtype=object), binary_data=True)
    body, json_size = triton.InferenceServerClient.generate_request_body([image])
    headers = {"Inference-Header-Content-Length": str(json_size)} if json_size else {}
    async with serve(Settings(model_path=image_classifier)) as client:
        response = await client.post("/v2/models/image-classifier/infer", content=body, headers=headers)
    assert response.status_code == 200, response.text
    header = response.headers.get("inference-header-content-length")
    result = triton.InferenceServerClient.parse_response_body(
        response.content, header_length=int(header) if header else None
    )
    classes = result.as_numpy("classes")
    assert classes.shape == (2, 3) and classes[0][0].decode() == expected(image_classifier)


async def test_a_body_that_is_not_an_image_is_a_400_saying_so(serve, image_classifier: Path) -> None:
    async with serve(Settings(model_path=image_classifier)) as client:
        response = await client.post("/predict", content=b"not a png", headers={"content-type": "image/png"})
        text = await client.post("/predict", content=b"hello", headers={"content-type": "text/plain"})
    assert response.status_code == 400
    assert response.json() == {"error": "the body is not a PNG or JPEG image Pillow can read"}
    assert text.status_code == 415 and "image/png, image/jpeg" in text.json()["error"]
