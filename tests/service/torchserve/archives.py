"""TorchServe archives built the way a TorchServe user builds them: models and handlers written here, packed
by torch-model-archiver. Each model's answers can be worked out by hand."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch import nn

ARCHIVER = Path(sys.executable).parent / "torch-model-archiver"

# An eager model: the archive carries its class (modelFile) and its state dict (serializedFile), and
# TorchServe's BaseHandler builds one from the other.
BRIGHTNESS_NET = '''
import torch
from torch import nn


class BrightnessNet(nn.Module):
    """Three classes from a 4x4 grey image: its mean brightness, scored against three fixed levels."""

    def __init__(self) -> None:
        super().__init__()
        self.levels = nn.Parameter(torch.zeros(3))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        mean = pixels.flatten(1).mean(1, keepdim=True)
        return -((mean - self.levels) ** 2)
'''

# A handler in TorchServe's documented style: BaseHandler's initialize (eager model + weights), its own
# preprocess, inference and postprocess, labels from an extra file, and a request header read from context.
IMAGE_HANDLER = """
import io
import json
import os

import torch
from PIL import Image
from ts.torch_handler.base_handler import BaseHandler


class BrightnessHandler(BaseHandler):
    def initialize(self, context):
        super().initialize(context)
        with open(os.path.join(context.system_properties["model_dir"], "index_to_name.json")) as f:
            self.labels = json.load(f)

    def preprocess(self, data):
        images = []
        for row in data:
            payload = row.get("data") or row.get("body")
            image = Image.open(io.BytesIO(payload)).convert("L").resize((4, 4))
            images.append(torch.tensor(list(image.getdata()), dtype=torch.float32).reshape(4, 4) / 255)
        return torch.stack(images)

    def inference(self, data, *args, **kwargs):
        with torch.no_grad():
            return self.model(data.to(self.device))

    def postprocess(self, data):
        scores = torch.softmax(data, dim=1)
        answers = []
        for index, row in enumerate(scores):
            top = int(row.argmax())
            answer = {self.labels[str(top)]: round(float(row[top]), 6)}
            if self.context.get_request_header(index, "x-want-scores") == "yes":
                answer["scores"] = [round(float(v), 6) for v in row]
            answers.append(answer)
        return answers
"""

# A module with a handle(data, context) function: a TorchScript bag-of-words classifier with its vocabulary
# as an extra file, loaded on the first call (data is None), as TorchServe's function handlers are.
TEXT_HANDLER = """
import os

import torch

_model = None
_vocab = {}


def handle(data, context):
    global _model, _vocab
    if _model is None:
        folder = context.system_properties["model_dir"]
        _model = torch.jit.load(os.path.join(folder, context.manifest["model"]["serializedFile"]))
        with open(os.path.join(folder, "vocab.txt")) as f:
            _vocab = {word: index for index, word in enumerate(f.read().split())}
    if data is None:
        return None
    counts = torch.zeros(len(data), len(_vocab))
    for row, request in enumerate(data):
        text = request.get("data") or request.get("body")
        if isinstance(text, (bytes, bytearray)):
            text = text.decode("utf-8")
        if isinstance(text, dict):
            text = text["text"]
        for word in text.lower().split():
            if word in _vocab:
                counts[row, _vocab[word]] += 1
    scores = _model(counts)
    return [{"positive": bool(s[1] > s[0]), "score": round(float(s[1] - s[0]), 4)} for s in scores]
"""

VOCAB = ["good", "great", "fine", "bad", "awful", "poor"]


class BagOfWords(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(len(VOCAB), 2, bias=False)
        with torch.no_grad():  # column 1 minus column 0 is +1 per good word, -1 per bad one
            self.linear.weight.copy_(torch.tensor([[0.0] * 3 + [1.0] * 3, [1.0] * 3 + [0.0] * 3]))

    def forward(self, counts: torch.Tensor) -> torch.Tensor:
        return self.linear(counts)


@dataclass(frozen=True)
class Built:
    name: str
    mar: Path


def _archive(folder: Path, store: Path, name: str, *args: str) -> Built:
    store.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            str(ARCHIVER),
            "--model-name",
            name,
            "--version",
            "2.0",
            "--export-path",
            str(store),
            "--force",
            *args,
        ],
        check=True,
        cwd=folder,
        capture_output=True,
    )
    return Built(name, store / f"{name}.mar")


def image_archive(work: Path, store: Path) -> Built:
    folder = work / "brightness"
    folder.mkdir(parents=True)
    (folder / "net.py").write_text(BRIGHTNESS_NET)
    (folder / "brightness_handler.py").write_text(IMAGE_HANDLER)
    (folder / "index_to_name.json").write_text(json.dumps({"0": "dark", "1": "grey", "2": "light"}))
    namespace: dict[str, object] = {}
    exec(BRIGHTNESS_NET, namespace)  # the same class the archive carries
    net = namespace["BrightnessNet"]()  # type: ignore[operator]
    with torch.no_grad():
        net.levels.copy_(torch.tensor([0.1, 0.5, 0.9]))
    torch.save(net.state_dict(), folder / "brightness.pth")
    store.mkdir(parents=True, exist_ok=True)
    (store / "brightness.sample.png").write_bytes(grey_png(128))  # what the model check sends
    return _archive(
        folder,
        store,
        "brightness",
        "--model-file",
        "net.py",
        "--serialized-file",
        "brightness.pth",
        "--handler",
        "brightness_handler.py",
        "--extra-files",
        "index_to_name.json",
    )


def text_archive(work: Path, store: Path) -> Built:
    folder = work / "sentiment"
    folder.mkdir(parents=True)
    (folder / "sentiment_handler.py").write_text(TEXT_HANDLER)
    (folder / "vocab.txt").write_text("\n".join(VOCAB))
    torch.jit.save(torch.jit.script(BagOfWords()), str(folder / "sentiment.pt"))
    store.mkdir(parents=True, exist_ok=True)
    (store / "sentiment.sample.txt").write_text("a good and great film")
    return _archive(
        folder,
        store,
        "sentiment",
        "--serialized-file",
        "sentiment.pt",
        "--handler",
        "sentiment_handler.py",
        "--extra-files",
        "vocab.txt",
    )


def grey_png(level: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (8, 8), color=level).save(buffer, format="PNG")
    return buffer.getvalue()
