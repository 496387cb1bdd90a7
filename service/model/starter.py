"""`python -m service init-model models/mine`: a commented starter model directory to fill in."""

from __future__ import annotations

import json
from pathlib import Path

MODEL_JSON = {
    "name": "mine",
    "version": "1",
    "inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1], "content_types": ["text/plain"]}],
    "outputs": [
        {"name": "label", "datatype": "BYTES", "shape": [-1]},
        {"name": "score", "datatype": "FP32", "shape": [-1]},
    ],
    # What `python -m service check` and the server's warm-up send through the handler (docs/your-model.md).
    "sample": {"text": "a fine day"},
}

HANDLER = '''"""The handler of this model directory: your Python around your model (docs/your-model.md).

Liftoff calls setup once before the server is ready, decode for each request (in a thread pool), predict
for each batch of requests (requests of the same shapes share it), and encode for each request's share.
Delete the methods you do not need: the defaults pass tensors through and call model.pt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from service.handler import Handler, HandlerContext, RequestError


class Model(Handler):
    def setup(self, context: HandlerContext) -> None:
        super().setup(context)
        # Load weights your own class needs, e.g.:
        #   self.net = MyNet(); self.net.load_state_dict(torch.load(context.directory / "weights.pt"))
        #   self.net.to(context.device).eval()
        self.labels = ["negative", "positive"]

    def decode(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        # inputs["text"] holds one `bytes` per row. Return arrays with the rows first.
        try:
            texts = [raw.decode("utf-8") for raw in inputs["text"]]
        except UnicodeDecodeError:
            raise RequestError("text must be UTF-8") from None  # the client gets a 400 with this message
        if not all(texts):
            raise RequestError("text must not be empty")
        return [np.array([[len(text)] for text in texts], dtype=np.float32)]

    def predict(self, lengths: torch.Tensor) -> torch.Tensor:
        # One forward pass over several requests' rows; replace with self.net(lengths).
        return torch.sigmoid(lengths - 10.0).squeeze(1)

    def encode(self, outputs: Mapping[str, np.ndarray]) -> dict[str, Any]:
        # predict returned one tensor for model.json's two outputs, so it arrives as "output0".
        scores = outputs["output0"]
        return {"label": [self.labels[int(s > 0.5)] for s in scores], "score": scores}
'''

REQUIREMENTS = """# Extra packages this model's handler imports, one a line, installed into the image under the project's
# pins (requirements/constraints.txt): torch and numpy are there already; a line that conflicts fails the build.
"""


def write_starter(directory: Path) -> list[Path]:
    """Write the starter files; refuses to overwrite any that exist."""
    files = {
        directory / "model.json": json.dumps({**MODEL_JSON, "name": directory.name or "mine"}, indent=2)
        + "\n",
        directory / "handler.py": HANDLER,
        directory / "requirements.txt": REQUIREMENTS,
    }
    existing = [path for path in files if path.exists()]
    if existing:
        raise FileExistsError(f"{', '.join(str(p) for p in existing)} exists already; nothing was written")
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return list(files)
