"""Train the example on reviews it writes itself from word lists (no download), seeded.

    python examples/text-classifier/train.py [--out DIR]

Sentences are put together from templates, positive and negative words and neutral filler, so lengths
vary. The tokenizer is the handler's own. Prints the held-out accuracy and writes model.pt (TorchScript)
and vocab.txt beside this file, or into --out.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import warnings
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
SEED = 11
POSITIVE = [
    "good",
    "great",
    "excellent",
    "lovely",
    "wonderful",
    "superb",
    "enjoyable",
    "delightful",
    "brilliant",
    "fine",
    "pleasant",
]
NEGATIVE = [
    "bad",
    "awful",
    "terrible",
    "poor",
    "dreadful",
    "boring",
    "horrible",
    "disappointing",
    "weak",
    "dull",
    "annoying",
]
FILLER = [
    "the",
    "film",
    "was",
    "really",
    "quite",
    "a",
    "very",
    "and",
    "story",
    "acting",
    "music",
    "plot",
    "it",
    "this",
    "i",
    "thought",
    "felt",
]


class BagOfWords(nn.Module):
    """The mean of the words' embeddings, then a linear layer: any text length, one row per text."""

    def __init__(self, vocabulary_size: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocabulary_size, 16, padding_idx=0)
        self.out = nn.Linear(16, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.out(self.embed(ids).mean(dim=1))


def sentence(rng: random.Random, positive: bool) -> str:
    words = [rng.choice(FILLER) for _ in range(rng.randint(2, 12))]
    for _ in range(rng.randint(1, 3)):
        words.insert(rng.randint(0, len(words)), rng.choice(POSITIVE if positive else NEGATIVE))
    return " ".join(words)


def handler_module():
    spec = importlib.util.spec_from_file_location("text_classifier_handler", HERE / "handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train(out: Path) -> float:
    rng = random.Random(SEED)  # noqa: S311 (made-up training sentences, not secrets)
    torch.manual_seed(SEED)
    handler = handler_module()
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.txt").write_text("\n".join(sorted(set(POSITIVE + NEGATIVE + FILLER))) + "\n")
    vocabulary = handler.load_vocabulary(out / "vocab.txt")
    data = [(sentence(rng, label == 1), label) for label in (0, 1) for _ in range(600)]
    rng.shuffle(data)
    held_out, training = data[:300], data[300:]
    model = BagOfWords(len(vocabulary) + 2)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(4):
        for text, label in training:  # one text a step: lengths differ, as requests will
            ids = torch.tensor([handler.token_ids(text, vocabulary)])
            optimiser.zero_grad()
            nn.functional.cross_entropy(model(ids), torch.tensor([label])).backward()
            optimiser.step()
    model.eval()
    with torch.no_grad():
        right = sum(
            int(model(torch.tensor([handler.token_ids(text, vocabulary)])).argmax(1).item() == label)
            for text, label in held_out
        )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        torch.jit.save(torch.jit.script(model), str(out / "model.pt"))
    return right / len(held_out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE)
    accuracy = train(parser.parse_args().out)
    print(f"held-out accuracy {accuracy:.4f}")
    return 0 if accuracy >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
