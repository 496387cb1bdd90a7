"""KServe's own Python model server (`kserve.ModelServer`) serving the digits TorchScript model over gRPC and
REST, as KServe's docs write a custom predictor (run in .venv-kserve, requirements/kserve.txt).

    python bench/competitors/kserve_digits.py MODEL_PATH HTTP_PORT GRPC_PORT TORCH_SITE_PACKAGES

The KServe environment carries no torch (its SDK needs none); the project's torch, the same pinned release,
is found after every package of KServe's own, so KServe's pins win wherever the two environments overlap.
"""

from __future__ import annotations

import sys

model_path, http_port, grpc_port, torch_site = sys.argv[1:5]
# kserve reads its flags from the command line when imported: a log line per call costs CPU that Liftoff's
# row (LIFTOFF_LOG_LEVEL=warning) does not spend, so KServe logs at Python's default level too.
sys.argv[1:] = ["--enable_latency_logging", "false", "--configure_logging", "false"]
sys.path.append(torch_site)

import torch  # noqa: E402
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer  # noqa: E402


class Digits(Model):
    def __init__(self) -> None:
        super().__init__("digits")
        torch.set_num_threads(1)
        self.module = torch.jit.load(model_path).eval()
        self.ready = True

    def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        pixels = torch.from_numpy(payload.inputs[0].as_numpy())
        with torch.inference_mode():
            probabilities, label = self.module(pixels)
        outputs = [
            InferOutput("probabilities", list(probabilities.shape), "FP32"),
            InferOutput("label", list(label.shape), "INT64"),
        ]
        outputs[0].set_data_from_numpy(probabilities.numpy())
        outputs[1].set_data_from_numpy(label.numpy())
        return InferResponse(response_id=payload.id, model_name=self.name, infer_outputs=outputs)


if __name__ == "__main__":
    ModelServer(http_port=int(http_port), grpc_port=int(grpc_port), workers=1).start([Digits()])
