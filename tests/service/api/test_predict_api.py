"""`POST /predict`: plain JSON rows in, one prediction per row out."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.model.examples import DIGIT_ZERO
from service.settings import Settings

pytestmark = pytest.mark.anyio


async def test_a_one_output_model_predicts_that_outputs_row(serve, linear_model: Path) -> None:
    async with serve(Settings(model_path=linear_model)) as client:
        response = await client.post("/predict", json={"instances": [[1, 0, 0], [0, 1, 2]]})
    assert response.status_code == 200
    assert response.json() == {"predictions": [[1.5, 3.0], [8.5, 16.0]]}


async def test_the_digits_model_reads_the_readme_example_as_a_zero(serve) -> None:
    async with serve(Settings()) as client:
        response = await client.post("/predict", json={"instances": [DIGIT_ZERO]})
    assert response.status_code == 200
    (prediction,) = response.json()["predictions"]
    assert prediction["label"] == 0
    assert len(prediction["probabilities"]) == 10
    assert prediction["probabilities"][0] == max(prediction["probabilities"])


async def test_the_digits_model_recognises_held_out_digits(serve) -> None:
    """Real predictions through the whole server: the digits it was not trained on, at >= 0.95 accuracy."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    features, labels = load_digits(return_X_y=True)
    _, x_test, _, y_test = train_test_split(features, labels, test_size=0.25, random_state=0, stratify=labels)
    async with serve(Settings(max_batch_size=128)) as client:
        predicted = []
        for start in range(0, len(x_test), 128):
            chunk = x_test[start : start + 128].tolist()
            response = await client.post("/predict", json={"instances": chunk})
            assert response.status_code == 200
            predicted += [p["label"] for p in response.json()["predictions"]]
    accuracy = sum(int(p == y) for p, y in zip(predicted, y_test, strict=True)) / len(y_test)
    assert accuracy >= 0.95
