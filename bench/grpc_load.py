"""Drive Liftoff's gRPC listener with `h2load` (Debian's nghttp2-client): digits as tritonclient.grpc sends
them, one ModelInfer per call with `raw_input_contents`, each client one call at a time (a closed loop, as
wrk's connections are for the HTTP rows).

h2load speaks HTTP/2 and knows nothing of gRPC: the body is the framed ModelInferRequest (a 0 flag byte, the
length, the message), and an answer counts as HTTP 200. A gRPC error also comes as HTTP 200, with its status
in the trailers, so the server's own count of gRPC calls by status (`liftoff_requests_total`, route
`grpc:ModelInfer`) is read before and after each point, and every call it did not answer OK is an error
(but 499: h2load cancels the calls still in flight when a point's time is up).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import urllib.request
from pathlib import Path

import numpy as np

from bench.loadgen import LoadResult
from service.grpc import INFER_ROUTE
from service.model.examples import DIGIT_ZERO

METHOD = "/inference.GRPCInferenceService/ModelInfer"
COUNT_LINE = re.compile(r"^liftoff_requests_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")


def h2load_binary() -> str:
    found = shutil.which("h2load")
    if found is None:
        raise SystemExit("h2load is not installed: `apt-get install -y nghttp2-client` (Debian/Ubuntu)")
    return found


def digits_frame() -> bytes:
    """One digits row as a gRPC message on the wire: tritonclient.grpc's shape (raw contents, FP32)."""
    from service.grpc.stubs import load  # the project's compiled stubs; compiles them when missing

    pb, _ = load()
    request = pb.ModelInferRequest(model_name="digits")
    request.inputs.add(name="pixels", datatype="FP32", shape=[1, 64])
    request.raw_input_contents.append(np.asarray([DIGIT_ZERO], dtype="<f4").tobytes())
    message = request.SerializeToString()
    return struct.pack(">BI", 0, len(message)) + message


def grpc_failures(metrics_url: str) -> float:
    """ModelInfer calls the server has not answered OK so far, from its /metrics. Not counted: 499, the calls
    h2load itself cancels when a point's time is up."""
    with urllib.request.urlopen(metrics_url, timeout=30) as response:  # noqa: S310 (127.0.0.1 only)
        text = response.read().decode()
    failed = 0.0
    for line in text.splitlines():
        found = COUNT_LINE.match(line)
        if found and f'route="{INFER_ROUTE}"' in found["labels"]:
            status = re.search(r'status="(\d+)"', found["labels"])
            if status and status.group(1) not in ("200", "499"):
                failed += float(found["value"])
    return failed


def run_h2load(
    grpc_url: str, metrics_url: str | None, body: Path, concurrency: int, seconds: float, log: Path
) -> LoadResult:
    """One point: `concurrency` HTTP/2 connections, one call in flight on each. Without `metrics_url` (a
    server with no /metrics, bench/grpc_floor.py's echo) gRPC errors inside HTTP 200s are not counted."""
    command = [
        h2load_binary(),
        "-t1",
        f"-c{concurrency}",
        "-m1",
        f"-D{max(1, round(seconds))}",
        "-d",
        str(body),
        "-H",
        "content-type: application/grpc",
        "-H",
        "te: trailers",
        f"--log-file={log}",
        grpc_url + METHOD,
    ]
    failed_before = grpc_failures(metrics_url) if metrics_url else 0.0
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"h2load failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    grpc_errors = int(grpc_failures(metrics_url) - failed_before) if metrics_url else 0
    # The log: one line per answered call, "start (µs since the run began) TAB HTTP status TAB duration µs".
    rows = [line.split("\t") for line in log.read_text().splitlines() if line.strip()]
    durations_ms = np.array([int(row[2]) / 1000 for row in rows], dtype=float)
    http_errors = sum(row[1] != "200" for row in rows)
    summary = re.search(r"requests: \d+ total, \d+ started, (\d+) done", done.stdout)
    requests = int(summary.group(1)) if summary else len(rows)
    elapsed = re.search(r"finished in ([\d.]+)(m?s)", done.stdout)
    seconds_run = float(elapsed.group(1)) / (1000 if elapsed.group(2) == "ms" else 1) if elapsed else seconds

    def pct(q: float) -> float:
        return float(np.percentile(durations_ms, q)) if len(durations_ms) else 0.0

    return LoadResult(
        concurrency=concurrency,
        requests=requests,
        seconds=seconds_run,
        errors=max(requests - len(rows), 0) + http_errors + grpc_errors,
        p50_ms=pct(50),
        p90_ms=pct(90),
        p99_ms=pct(99),
        max_ms=float(durations_ms.max()) if len(durations_ms) else 0.0,
    )
