"""The naive baseline: plain FastAPI, one forward pass per request, no batching.

What a user writes first: pydantic request models, a sync route (FastAPI runs it in its thread pool),
one torch thread per process. Served by uvicorn with 1 or 2 workers:

    BENCH_MODEL_PATH=models/digits/model.pt BENCH_MODEL_NAME=digits \\
        uvicorn bench.baseline_app:app --port 8090 --workers 2
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import torch
from fastapi import FastAPI
from pydantic import BaseModel

from bench.competitors.codec import decode_rows, encode_rows

MODEL_NAME = os.environ.get("BENCH_MODEL_NAME", "digits")
state: dict[str, Any] = {}


class Tensor(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[float]


class InferRequest(BaseModel):
    inputs: list[Tensor]


class PredictRequest(BaseModel):
    instances: list[dict[str, str]]


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    torch.set_num_threads(int(os.environ.get("BENCH_TORCH_THREADS", "1")))
    state["model"] = torch.jit.load(os.environ["BENCH_MODEL_PATH"]).eval()
    yield


app = FastAPI(lifespan=lifespan)


def forward(body: dict[str, Any]) -> dict[str, Any]:
    with torch.inference_mode():
        out = state["model"](torch.from_numpy(decode_rows(MODEL_NAME, body)))
    outputs = out if isinstance(out, tuple) else (out,)
    return encode_rows(MODEL_NAME, tuple(t.numpy() for t in outputs))


@app.get("/ready")
def ready() -> dict[str, bool]:
    return {"ready": "model" in state}


@app.post("/v2/models/{name}/infer")
def infer(name: str, request: InferRequest) -> dict[str, Any]:
    return forward(request.model_dump())


@app.post("/predict")
def predict(request: PredictRequest) -> dict[str, Any]:
    return forward(request.model_dump())
