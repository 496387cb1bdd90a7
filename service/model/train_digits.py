"""Train the default `digits` model on scikit-learn's bundled handwritten digits (no download).

    python -m service.model.train_digits --out models/digits

Seeded and reproducible. Prints the accuracy on a held-out split and writes `model.pt` (TorchScript) and
`model.json` (its metadata) into the output folder. Needs the `train` extra (scikit-learn).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from service.model.metadata import ModelMetadata, TensorSpec

PIXEL_MAX = 16.0
METADATA = ModelMetadata(
    name="digits",
    version="1",
    inputs=(TensorSpec(name="pixels", datatype="FP32", shape=(-1, 64)),),
    outputs=(
        TensorSpec(name="probabilities", datatype="FP32", shape=(-1, 10)),
        TensorSpec(name="label", datatype="INT64", shape=(-1,)),
    ),
)


class DigitsClassifier(nn.Module):
    """8x8 grey-level digits (0..16 per pixel, flattened to 64) to class probabilities and the label."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
        self.pixel_max = PIXEL_MAX

    def logits(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.net(pixels / self.pixel_max)

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        probabilities = torch.softmax(self.logits(pixels), dim=1)
        return probabilities, probabilities.argmax(dim=1)


def train(out_dir: Path, seed: int = 0, epochs: int = 40) -> float:
    """Train, write the model and its metadata into `out_dir`, return the held-out accuracy."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # One thread: the network is tiny, so more threads only add contention (much slower on a busy
    # machine), and a single thread keeps the arithmetic order, hence the weights, the same run to run.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(out_dir, seed, epochs)
    finally:
        torch.set_num_threads(threads)


def _train(out_dir: Path, seed: int, epochs: int) -> float:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    features, labels = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        features.astype(np.float32),
        labels.astype(np.int64),
        test_size=0.25,
        random_state=seed,
        stratify=labels,
    )
    model = DigitsClassifier()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    x, y = torch.from_numpy(x_train), torch.from_numpy(y_train)
    shuffler = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=shuffler).split(128):
            optimiser.zero_grad()
            loss_fn(model.logits(x[idx]), y[idx]).backward()
            optimiser.step()
    model.eval()
    with torch.inference_mode():
        _, predicted = model(torch.from_numpy(x_test))
    accuracy = float((predicted.numpy() == y_test).mean())
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*torch.jit")
        _write(out_dir, torch.jit.script(model))
    return accuracy


def _write(out_dir: Path, scripted: torch.jit.ScriptModule) -> None:
    """Write both files through temporary names, so a server never reads a half-written model."""
    out_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)  # through memory: the archive's inner name must not vary between runs
    tmp_model = out_dir / "model.pt.tmp"
    tmp_model.write_bytes(buffer.getvalue())
    (out_dir / "model.json.tmp").write_text(
        METADATA.model_dump_json(indent=2, exclude_none=True) + "\n", encoding="utf-8"
    )
    os.replace(out_dir / "model.json.tmp", out_dir / "model.json")
    os.replace(tmp_model, out_dir / "model.pt")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("models/digits"), help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args(argv)
    accuracy = train(args.out, seed=args.seed, epochs=args.epochs)
    print(f"held-out accuracy: {accuracy:.4f}")
    print(f"wrote {args.out / 'model.pt'} and {args.out / 'model.json'}")
    return 0 if accuracy >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
