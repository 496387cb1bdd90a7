"""The default model: trained by a seeded script on scikit-learn's bundled digits, at least 0.95 accurate."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from service.model.metadata import load_metadata
from service.model.served import load_model

REPO = Path(__file__).parents[3]


@pytest.mark.slow
def test_the_training_script_reaches_095_held_out_accuracy_and_writes_a_servable_model(
    tmp_path: Path,
) -> None:
    out = tmp_path / "digits"
    result = subprocess.run(
        [sys.executable, "-m", "service.model.train_digits", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    match = re.search(r"held-out accuracy: ([0-9.]+)", result.stdout)
    assert match, result.stdout
    assert float(match.group(1)) >= 0.95

    metadata = load_metadata(out / "model.pt")
    assert metadata.name == "digits"
    assert [(t.name, t.datatype, t.shape) for t in metadata.inputs] == [("pixels", "FP32", (-1, 64))]
    assert [(t.name, t.datatype, t.shape) for t in metadata.outputs] == [
        ("probabilities", "FP32", (-1, 10)),
        ("label", "INT64", (-1,)),
    ]
    model = load_model(out / "model.pt", "cpu", "float32")
    model.warm_up(8)
    probabilities, labels = model.run([np.zeros((3, 64), np.float32)])
    assert probabilities.shape == (3, 10) and labels.shape == (3,)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_training_is_seeded_so_the_same_seed_gives_the_same_weights(tmp_path: Path) -> None:
    from service.model.train_digits import train

    first = train(tmp_path / "a", seed=3, epochs=2)
    second = train(tmp_path / "b", seed=3, epochs=2)
    assert first == second
    weights = [dict(torch.jit.load(str(tmp_path / run / "model.pt")).state_dict()) for run in ("a", "b")]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][name], weights[1][name]) for name in weights[0])


@pytest.mark.slow
def test_a_fresh_checkout_without_the_default_model_trains_it_on_the_spot(tmp_path: Path) -> None:
    from service.model.startup import ensure_default_model

    wanted = tmp_path / "models" / "digits" / "model.pt"
    served = ensure_default_model(wanted)
    assert served == wanted and wanted.is_file() and wanted.with_suffix(".json").is_file()
    assert load_metadata(served).name == "digits"
    modified = wanted.stat().st_mtime_ns
    assert ensure_default_model(wanted) == wanted and wanted.stat().st_mtime_ns == modified  # not retrained
