"""Raw text in, a label (positive or negative) and its score out.

decode: a word tokenizer with the vocabulary in vocab.txt, giving token ids as long as the text (a variable
dimension: the batcher joins only texts of the same length). predict: the TorchScript bag-of-embeddings
model in model.pt, then softmax. encode: the more likely label and its probability.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from service.handler import Handler, HandlerContext, RequestError

LABELS = ("negative", "positive")
UNKNOWN = 1  # 0 is kept for padding
MAX_WORDS = 256
WORD = re.compile(r"[a-z']+")


def load_vocabulary(path: Path) -> dict[str, int]:
    return {word: index for index, word in enumerate(path.read_text(encoding="utf-8").split(), start=2)}


def token_ids(text: str, vocabulary: dict[str, int]) -> list[int]:
    return [vocabulary.get(word, UNKNOWN) for word in WORD.findall(text.lower())]


class TextClassifier(Handler):
    def setup(self, context: HandlerContext) -> None:
        super().setup(context)
        self.vocabulary = load_vocabulary(context.directory / "vocab.txt")

    def decode(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        if len(inputs["text"]) != 1:
            raise RequestError("send one text per request (texts of different lengths do not stack)")
        try:
            text = inputs["text"][0].decode("utf-8")
        except UnicodeDecodeError:
            raise RequestError("the text is not UTF-8") from None
        ids = token_ids(text, self.vocabulary)
        if not ids:
            raise RequestError("the text has no words")
        if len(ids) > MAX_WORDS:
            raise RequestError(f"the text has {len(ids)} words; this model reads at most {MAX_WORDS}")
        return [np.array([ids], dtype=np.int64)]

    def predict(self, ids: torch.Tensor) -> torch.Tensor:
        assert self.context.module is not None
        return torch.softmax(self.context.module(ids), dim=1)

    def encode(self, outputs: Mapping[str, np.ndarray]) -> dict[str, Any]:
        probabilities = outputs["output0"]
        best = probabilities.argmax(axis=1)
        return {"label": [LABELS[i] for i in best], "score": probabilities.max(axis=1)}
