"""A ResNet-18-sized image model built with torch alone (random weights: the benchmark measures speed).

    python -m bench.resnet --out .bench/models/resnet18

Writes `model.pt` (TorchScript) and `model.json` (the metadata the server reads). The model takes the
image as it travels, UINT8 `[N, 3, 224, 224]`, and scales it itself, so a client sends 150 KB of pixels
rather than 600 KB of floats.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from torch import nn

NAME = "resnet18"
IMAGE_SHAPE = (3, 224, 224)
CLASSES = 1000
METADATA = {
    "name": NAME,
    "version": "1",
    "inputs": [{"name": "image", "datatype": "UINT8", "shape": [-1, *IMAGE_SHAPE]}],
    "outputs": [{"name": "logits", "datatype": "FP32", "shape": [-1, CLASSES]}],
}


class BasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """The ResNet-18 layout (11.7 M parameters, 1.8 GFLOPs per 224x224 image) behind uint8 scaling."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, 2, 3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        layers: list[nn.Module] = []
        in_channels = 64
        for out_channels, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [
                BasicBlock(in_channels, out_channels, stride),
                BasicBlock(out_channels, out_channels, 1),
            ]
            in_channels = out_channels
        self.layers = nn.Sequential(*layers)
        self.head = nn.Linear(512, CLASSES)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        # Scale in whatever dtype the weights were cast to, so the same file serves FP32 and bf16.
        mean, std = self.mean, self.std
        assert isinstance(mean, torch.Tensor) and isinstance(std, torch.Tensor)
        x = (image.to(mean.dtype) - mean) / std
        x = self.layers(self.stem(x))
        return self.head(torch.flatten(torch.mean(x, dim=(2, 3)), 1)).float()


def build(out_dir: Path, seed: int = 0) -> Path:
    """Write the scripted model and its metadata into `out_dir`; return the model path."""
    torch.manual_seed(seed)
    model = ResNet18().eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "model.pt"
    torch.jit.save(torch.jit.script(model), str(path))
    path.with_suffix(".json").write_text(json.dumps(METADATA, indent=2) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    print(build(parser.parse_args().out))


if __name__ == "__main__":
    main()
