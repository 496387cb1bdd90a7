"""Train the example on scikit-learn's digits rendered as PNG files (no download), seeded.

    python examples/image-classifier/train.py [--out DIR]

Each 8x8 digit is drawn as a 32x32 PNG, read back through the handler's own `pixels`, and a small MLP is
trained on those. Prints the held-out accuracy and writes model.pt (TorchScript) and digit.png (a held-out
digit to send) beside this file, or into --out.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import random
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

HERE = Path(__file__).resolve().parent
SEED = 7


def render(digit: np.ndarray) -> bytes:
    """scikit-learn's 0..16 grey levels as a 32x32 PNG, dark ink on white, as a scanner would give it."""
    grey = (255 - digit.reshape(8, 8) * (255 / 16)).astype(np.uint8)
    image = Image.fromarray(grey, mode="L").resize((32, 32), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def handler_pixels():  # the handler's own preprocessing, imported from the file beside this one
    spec = importlib.util.spec_from_file_location("image_classifier_handler", HERE / "handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.pixels


def train(out: Path) -> float:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    digits = load_digits()
    pngs = [render(image) for image in digits.data]
    pixels = handler_pixels()
    x = np.stack([pixels(png) for png in pngs])
    indices = np.arange(len(x))
    train_idx, test_idx = train_test_split(indices, test_size=0.25, random_state=SEED, stratify=digits.target)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    xs, ys = torch.from_numpy(x[train_idx]), torch.from_numpy(digits.target[train_idx])
    for _ in range(300):
        optimiser.zero_grad()
        loss = nn.functional.cross_entropy(model(xs), ys)
        loss.backward()
        optimiser.step()
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(x[test_idx])).argmax(1).numpy()
    accuracy = float((predicted == digits.target[test_idx]).mean())
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        torch.jit.save(torch.jit.script(model), str(out / "model.pt"))
    sample = int(test_idx[0])
    (out / "digit.png").write_bytes(pngs[sample])
    (out / "digit.label").write_text(f"{digits.target[sample]}\n")
    return accuracy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE)
    accuracy = train(parser.parse_args().out)
    print(f"held-out accuracy {accuracy:.4f}")
    return 0 if accuracy >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
