"""`python -m lab.conformance [--minutes M] [--spec FILE] [--examples DIR]`: the pass/fail table of the official
OpenAPI document through schemathesis and Triton's example clients, each against a real server.

Exit status 0 when every row is as docs/protocols.md expects it (the rows it explains as not passing
included), 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from lab.ports import free_port
from lab.replicas import Replica

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".conformance"
MODELS = Path(__file__).with_name("models")

# KServe's Open Inference Protocol REST document: its last change, read 2026-12-07 on github.com/kserve/kserve.
SPEC_COMMIT = "2159c3fcccd810e3f73c6cd4d26146fc8685deb4"
SPEC_URL = (
    f"https://raw.githubusercontent.com/kserve/kserve/{SPEC_COMMIT}/docs/predict-api/v2/rest_predict_v2.yaml"
)
SPEC_SHA256 = "8106eb3dda1e3c824fa1e8aa4011c458360b6a6b5ac5a1eecae857ebd05844b8"
# Triton's Python client examples: triton-inference-server/client's main, read 2026-12-07 on GitHub.
EXAMPLES_COMMIT = "58a44caa0dce77303115302e6dbdf64626b2b093"
EXAMPLES_URL = f"https://github.com/triton-inference-server/client/archive/{EXAMPLES_COMMIT}.tar.gz"
EXAMPLES_PATH = "src/python/examples/"

HTTP_PYTHON = REPO / ".venv" / "bin" / "python"  # tritonclient[http]
GRPC_PYTHON = REPO / ".venv-tritonclient" / "bin" / "python"  # tritonclient[grpc] (protobuf 6)


@dataclass(frozen=True)
class Example:
    script: str
    model: str
    protocol: str  # "http" or "grpc"
    expected: str = "pass"
    """`pass`, or why it cannot pass against Liftoff: docs/protocols.md's table says the same."""
    prints: str = ""
    """What the example prints when a check passes that does not change its exit status."""


SERVER_NAME = "checks that the server calls itself `triton` (Liftoff says `liftoff`)"
EXAMPLES = (
    Example("simple_http_infer_client.py", "simple", "http"),
    Example("simple_http_async_infer_client.py", "simple", "http"),
    Example("simple_http_aio_infer_client.py", "simple", "http"),
    Example("simple_http_health_metadata.py", "simple", "http", SERVER_NAME),
    Example("simple_grpc_infer_client.py", "simple", "grpc"),
    Example("simple_grpc_async_infer_client.py", "simple", "grpc"),
    Example("simple_grpc_aio_infer_client.py", "simple", "grpc"),
    Example("simple_grpc_keepalive_client.py", "simple", "grpc"),
    Example("simple_grpc_custom_args_client.py", "simple", "grpc"),
    Example("simple_grpc_health_metadata.py", "simple", "grpc", SERVER_NAME),
    Example("grpc_explicit_int_content_client.py", "simple", "grpc", prints="PASS: explicit int"),
    Example("grpc_explicit_int8_content_client.py", "simple_int8", "grpc", prints="PASS: explicit int8"),
    Example("grpc_explicit_byte_content_client.py", "simple_string", "grpc", prints="PASS: explicit string"),
)
"""The examples that apply to one model per server. The others need several models at once
(simple_identity beside simple_string), shared memory, sequences, model control or image models."""


def fetch_spec(path: Path | None) -> Path:
    """The official document, as KServe publishes it; its `${NAME}` path templates become OpenAPI's `{NAME}`."""
    if path is None:
        path = CACHE / f"rest_predict_v2-{SPEC_COMMIT[:8]}.yaml"
        if not path.exists():
            CACHE.mkdir(exist_ok=True)
            with urllib.request.urlopen(SPEC_URL, timeout=60) as response:
                path.write_bytes(response.read())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SPEC_SHA256:
        raise SystemExit(f"{path}: sha256 {digest}, not the pinned {SPEC_SHA256}")
    return path


def fetch_examples(folder: Path | None) -> Path:
    if folder is not None:
        return folder
    folder = CACHE / f"triton-examples-{EXAMPLES_COMMIT[:8]}"
    if not folder.exists():
        with urllib.request.urlopen(EXAMPLES_URL, timeout=120) as response:
            packed = io.BytesIO(response.read())
        folder.mkdir(parents=True)
        with tarfile.open(fileobj=packed, mode="r:gz") as archive:
            for member in archive.getmembers():
                name = member.name.split("/", 1)[-1]
                if member.isfile() and name.startswith(EXAMPLES_PATH) and name.endswith(".py"):
                    source = archive.extractfile(member)
                    assert source is not None
                    (folder / Path(name).name).write_bytes(source.read())
    return folder


def spec_variants(spec: Path, folder: Path) -> dict[str, Path]:
    """The document as published (every model path under `/versions/{MODEL_VERSION}`), and the same without
    the version segment, the paths most clients call."""
    document = yaml.safe_load(spec.read_text().replace("${", "{"))
    versioned = folder / "oip-versioned.yaml"
    versioned.write_text(yaml.safe_dump(document))
    unversioned_paths = {}
    for path, item in document["paths"].items():
        if "/versions/{MODEL_VERSION}" in path:
            item = dict(item)
            item["parameters"] = [p for p in item.get("parameters", []) if p["name"] != "MODEL_VERSION"]
            path = path.replace("/versions/{MODEL_VERSION}", "")
        unversioned_paths[path] = item
    unversioned = folder / "oip-unversioned.yaml"
    unversioned.write_text(yaml.safe_dump({**document, "paths": unversioned_paths}))
    return {"as published (version paths)": versioned, "without version paths": unversioned}


@contextmanager
def server(model: Path | None, folder: Path) -> Iterator[tuple[int, int]]:
    """A ready `python -m service` for `model` (None: the default digits model): its HTTP and gRPC ports."""
    http_port, grpc_port = free_port(), free_port()
    env = {"LIFTOFF_GRPC_PORT": str(grpc_port)}
    if model is not None:
        env["LIFTOFF_MODEL_PATH"] = str(model)
    replica = Replica(
        model.name if model else "digits", http_port, folder / f"server-{http_port}.log", env=env
    )
    replica.start()
    try:
        replica.wait_ready(timeout_s=180.0)
        yield http_port, grpc_port
    finally:
        replica.terminate()
        if not replica.wait_exit(timeout_s=30.0):
            replica.kill()


def schemathesis(spec: Path, port: int, seconds: int, folder: Path) -> tuple[int, int, list[str]]:
    """Cases generated, cases with failures, and the failures' titles, for one run of `st`."""
    config = folder / "schemathesis.toml"
    config.write_text('[parameters]\n"path.MODEL_NAME" = "digits"\n"path.MODEL_VERSION" = "1"\n')
    report = folder / f"{spec.stem}.json"
    command = [
        str(REPO / ".venv" / "bin" / "st"),
        "--config-file",
        str(config),
        "run",
        str(spec),
        "--url",
        f"http://127.0.0.1:{port}",
        "--checks",
        "all",
        # A body the document allows but the model cannot take (no inputs, an input of another name) is
        # rightly a 400: the document cannot know a model's inputs, and this check expects it accepted.
        "--exclude-checks",
        "positive_data_acceptance",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-time",
        str(seconds),
        "--max-examples",
        "100000",
        "--seed",
        "20261207",
        "--generation-database",
        "none",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    subprocess.run(command, capture_output=True, text=True, timeout=seconds + 300, check=False)
    result = json.loads(report.read_text())
    cases = result["test_cases"]
    titles = sorted({str(failure.get("title", failure)) for failure in result["failures"]})
    return int(cases["generated"]), int(cases["with_failures"]), titles


def run_example(example: Example, examples: Path, port: int) -> tuple[bool, str]:
    python = HTTP_PYTHON if example.protocol == "http" else GRPC_PYTHON
    done = subprocess.run(
        [str(python), str(examples / example.script), "-u", f"127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = (done.stdout + done.stderr).strip().splitlines()
    passed = done.returncode == 0 and example.prints in done.stdout
    return passed, lines[-1] if lines else ""


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.conformance", description=__doc__)
    parser.add_argument("--minutes", type=float, default=4.0, help="schemathesis's time per document variant")
    parser.add_argument(
        "--spec", type=Path, help="rest_predict_v2.yaml (default: fetched at the pinned commit)"
    )
    parser.add_argument("--examples", type=Path, help="Triton's src/python/examples (default: fetched)")
    args = parser.parse_args()
    spec = fetch_spec(args.spec)
    examples = fetch_examples(args.examples)
    rows: list[tuple[str, str, str, bool]] = []
    with tempfile.TemporaryDirectory(prefix="liftoff-conformance-") as tmp:
        folder = Path(tmp)
        with server(None, folder) as (http_port, _):
            for variant, path in spec_variants(spec, folder).items():
                started = time.monotonic()
                generated, failing, titles = schemathesis(path, http_port, int(args.minutes * 60), folder)
                took = time.monotonic() - started
                outcome = f"{generated} cases in {took:.0f} s, {failing} with failures"
                if titles:
                    outcome += ": " + "; ".join(titles)
                rows.append((f"OpenAPI document, {variant}", "pass", outcome, failing == 0 and generated > 0))
        for model in sorted({example.model for example in EXAMPLES}):
            with server(MODELS / model, folder) as (http_port, grpc_port):
                for example in (e for e in EXAMPLES if e.model == model):
                    port = http_port if example.protocol == "http" else grpc_port
                    passed, last = run_example(example, examples, port)
                    as_expected = passed == (example.expected == "pass")
                    rows.append((f"`{example.script}` ({model})", example.expected, last, as_expected))
    print("| run | expected | outcome | as expected |")
    print("| --- | --- | --- | --- |")
    for name, expected, outcome, ok in rows:
        print(f"| {name} | {expected} | {outcome.replace('|', '/')[:200]} | {'yes' if ok else 'NO'} |")
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
