"""LitServe with its batching, serving the same TorchScript model and bodies (run in .bench/venv-litserve).

python bench/competitors/litserve_app.py --model PATH --name digits --port 8091 --max-batch 32 --wait-ms 5

With --name image-classifier, --model is the example's directory and each request is a multipart upload of a
PNG (field "image"), decoded by the example's own `pixels` in LitServe's worker, as its docs show for files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import litserve as ls
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from codec import decode_rows, encode_rows
from png_digits import PngDigits


class TorchScriptAPI(ls.LitAPI):
    def __init__(self, model_path: str, model_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model_path = model_path
        self.model_name = model_name

    def setup(self, device: str) -> None:
        self.model = torch.jit.load(self.model_path).eval()

    def decode_request(self, request):
        # Left unannotated on purpose: LitServe builds its route from this annotation, and only an
        # unannotated parameter makes it parse the JSON body into a dict.
        return decode_rows(self.model_name, request)

    def batch(self, inputs: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.concatenate(inputs))

    def predict(self, x: torch.Tensor) -> tuple[np.ndarray, ...]:
        with torch.inference_mode():
            out = self.model(x)
        return tuple(t.numpy() for t in (out if isinstance(out, tuple) else (out,)))

    def unbatch(self, output: tuple[np.ndarray, ...]) -> list[tuple[np.ndarray, ...]]:
        # One row per request: every benchmark request carries exactly one row.
        return [tuple(t[i : i + 1] for t in output) for i in range(len(output[0]))]

    def encode_response(self, output: tuple[np.ndarray, ...]) -> dict[str, Any]:
        return encode_rows(self.model_name, output)


class PngDigitsAPI(ls.LitAPI):
    """The image example: PNG upload in, the top 3 digit names with their scores out."""

    def __init__(self, directory: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.directory = directory

    def setup(self, device: str) -> None:
        self.codec = PngDigits(self.directory)
        self.model = torch.jit.load(str(Path(self.directory) / "model.pt")).eval()

    def decode_request(self, request):  # unannotated: see TorchScriptAPI.decode_request
        return self.codec.pixels(request["image"].file.read())

    def batch(self, inputs: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(inputs))

    def predict(self, x: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            return torch.softmax(self.model(x), dim=1).numpy()

    def unbatch(self, output: np.ndarray) -> list[np.ndarray]:
        return [output[i : i + 1] for i in range(len(output))]

    def encode_response(self, output: np.ndarray) -> dict[str, Any]:
        return {"predictions": self.codec.top(output)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--wait-ms", type=float, default=5.0)
    args = parser.parse_args()
    batching = {"max_batch_size": args.max_batch, "batch_timeout": args.wait_ms / 1000}
    api: ls.LitAPI = (
        PngDigitsAPI(args.model, **batching)
        if args.name == "image-classifier"
        else TorchScriptAPI(args.model, args.name, **batching)
    )
    server = ls.LitServer(api, accelerator="cpu", workers_per_device=1)
    server.run(host="127.0.0.1", port=args.port, log_level="warning", generate_client_file=False)


if __name__ == "__main__":
    main()
