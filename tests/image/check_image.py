"""Proves a built inference image the way a cluster runs it. `make image-test` builds the image, then runs

    .venv/bin/python tests/image/check_image.py [--image liftoff:cpu] [--variant cpu|cuda]
    .venv/bin/python tests/image/check_image.py --image liftoff:cpu-example --model-dir examples/image-classifier

(`make image-test-cuda` runs it with --variant cuda on the CUDA image: torch must be a CUDA build, and with
no GPU on the machine the server must start on the CPU under LIFTOFF_DEVICE=auto and say so in its log.)

It checks the image's configuration (numeric user, port, health check, exec-form entry point) and that the
final stage carries no compilers, no pip and no scikit-learn. Then it runs the container read-only, as UID
10001, with only /tmp writable, no capabilities and its port published on 127.0.0.1, and checks readiness,
real predictions on scikit-learn's digits (labels must match at least MIN_ACCURACY), the same rows over gRPC
(ServerReady and ModelInfer on the published gRPC port, with the project's own stubs), Docker's own
HEALTHCHECK turning healthy, and SIGTERM with requests in flight: each accepted request completes with the
same answer it would have had, readiness fails at once, and the process exits by itself with status 0
(not killed after a grace period). A second container gets SIGTERM under a flood of fresh connections:
every connection its kernel accepted is answered (200, or 503 + Retry-After + Connection: close), none
closed unanswered (in process: tests/service/test_sigterm_fresh_connections.py).

Prints the image size, by part and by layer (tests/image/image_sizes.py), and the time from `docker run` to
ready beside their targets. The size limit is checked (it does not depend on the machine's load); the time
is a figure to read, not a pass/fail line.
Every container it starts is removed, whatever happens. Exit status: 0 when every check holds, else 1.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import image_sizes  # tests/image/, beside this script

# Per variant. CUDA: PyPI's CUDA 13.0 torch with its NVIDIA libraries, 5,070 MB as first built and 4,072 MB
# slimmed (docs/image.md, docs/notes/image.md); the limit leaves room for a dependency, not for the slimming to come undone.
SIZE_LIMIT_BYTES = {"cpu": 1_200_000_000, "cuda": 4_300_000_000}
READY_TARGET_S = 5.0
READY_DEADLINE_S = 120.0
MIN_ACCURACY = 0.95
SAMPLE_ROWS = 300
ROWS_PER_REQUEST = 20
IN_FLIGHT_REQUESTS = 8
DRAIN_TIMEOUT_S = 20
FLOOD_CLIENTS = 16
FLOOD_ANSWERED_BEFORE_SIGNAL = 200
FLOOD_ANSWERS = {"200", "503 retry-after close", "not accepted"}
"""What a fresh connection around SIGTERM may come to; "not accepted" (refused, dropped, unreachable once the
container is gone) is a client's cue to go elsewhere, unlike a connection accepted then closed unanswered."""
UID = "10001"


class CheckFailed(AssertionError):
    """One property of the image does not hold; the message says which."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)
    print(f"  ok  {message}", flush=True)


def docker(*args: str, timeout: float = 120) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise CheckFailed(f"docker {' '.join(args[:2])} failed: {result.stderr.strip()}")
    return result.stdout.strip()


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


def http(url: str, payload: object | None = None, timeout: float = 30) -> Response:
    """GET, or POST JSON when a payload is given; HTTP errors come back as responses, not exceptions."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Response(response.status, response.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.read())


@dataclass(frozen=True)
class Container:
    name: str
    host: str
    port: int
    grpc_port: int
    started_at: float

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


@contextmanager
def running(image: str, name: str, env: dict[str, str]) -> Iterator[Container]:
    """`docker run` as a restricted pod runs it: read-only root, tmpfs /tmp, numeric non-root user."""
    env_args = [arg for key, value in env.items() for arg in ("--env", f"{key}={value}")]
    started_at = time.monotonic()
    docker(
        "run", "--detach", "--name", name, "--read-only", "--tmpfs", "/tmp", "--user", UID,
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--publish", "127.0.0.1::8080", "--publish", "127.0.0.1::8081", *env_args, image,
    )  # fmt: skip
    try:
        ports = []
        for port_name in ("8080/tcp", "8081/tcp"):
            published = docker("port", name, port_name).splitlines()[0]
            host, _, port = published.rpartition(":")
            check(host == "127.0.0.1", f"port {port_name} is published on 127.0.0.1 only ({published})")
            ports.append(int(port))
        yield Container(name, host, ports[0], ports[1], started_at)
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True, timeout=60)


def wait_ready(container: Container) -> float:
    """Seconds from `docker run` to the first 200 from /readyz."""
    while time.monotonic() - container.started_at < READY_DEADLINE_S:
        try:
            if http(container.base_url + "/readyz", timeout=2).status == 200:
                return time.monotonic() - container.started_at
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # not listening yet
        if docker("inspect", "--format", "{{.State.Running}}", container.name) != "true":
            logs = subprocess.run(["docker", "logs", container.name], capture_output=True, text=True)
            raise CheckFailed(f"{container.name} exited before ready:\n{logs.stdout}{logs.stderr}")
        time.sleep(0.05)
    raise CheckFailed(f"{container.name} not ready within {READY_DEADLINE_S:.0f} s")


def digits_sample() -> tuple[list[list[float]], list[int]]:
    """A fixed random sample of scikit-learn's bundled digits (no download), with their true labels."""
    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    chosen = np.random.default_rng(0).permutation(len(digits.data))[:SAMPLE_ROWS]
    rows, labels = digits.data[chosen], digits.target[chosen]
    return [[float(x) for x in row] for row in rows], [int(y) for y in labels]


def predicted_labels(response: Response) -> list[int]:
    if response.status != 200:
        raise CheckFailed(f"/predict answered {response.status}: {response.body[:300]!r}")
    body = response.json()
    assert isinstance(body, dict)
    return [int(p["label"]) for p in body["predictions"]]


def check_configuration(image: str) -> int:
    """The image's metadata; returns its size in bytes."""
    config = json.loads(docker("image", "inspect", image))[0]
    settings = config["Config"]
    user = settings.get("User")
    check(user in (UID, f"{UID}:{UID}"), f"runs as numeric user {UID} ({user})")
    check("8080/tcp" in (settings.get("ExposedPorts") or {}), "exposes 8080")
    check("8081/tcp" in (settings.get("ExposedPorts") or {}), "exposes 8081 (gRPC)")
    check(bool((settings.get("Healthcheck") or {}).get("Test")), "has a HEALTHCHECK")
    entrypoint = settings.get("Entrypoint") or []
    check(entrypoint[:1] == ["python"], f"exec-form entry point: python is PID 1 ({entrypoint})")
    check("LIFTOFF_HOST=0.0.0.0" in (settings.get("Env") or []), "sets LIFTOFF_HOST=0.0.0.0")
    return int(config["Size"])


def check_contents(image: str) -> None:
    """The final stage: no compilers, no installer, no training dependencies, only the app in /app."""
    probe = (
        "import importlib.util as u, json, os, shutil\n"
        "tools = ('gcc', 'cc', 'c++', 'make', 'pip', 'pip3')\n"
        "print(json.dumps({'tools': [t for t in tools if shutil.which(t)],\n"
        "                  'modules': [m for m in ('pip', 'sklearn') if u.find_spec(m)],\n"
        "                  'app': sorted(os.listdir('/app'))}))\n"
    )
    run = ("run", "--rm", "--read-only", "--user", UID, "--entrypoint", "python", image, "-c", probe)
    found = json.loads(docker(*run))
    check(found["tools"] == [], f"no compilers, make or pip on PATH ({found['tools']})")
    check(found["modules"] == [], f"neither pip nor scikit-learn importable ({found['modules']})")
    check(found["app"] == ["model", "service"], f"/app holds only model/ and service/ ({found['app']})")


def check_torch_build(image: str, variant: str) -> None:
    """The variant's torch: a CUDA image must hold a CUDA build, and import it (loading every NVIDIA library
    libtorch_cuda links) with no GPU present; a CPU image must hold none."""
    probe = "import json, torch; print(json.dumps([torch.__version__, torch.version.cuda]))"
    run = ("run", "--rm", "--read-only", "--user", UID, "--entrypoint", "python", image, "-c", probe)
    version, cuda = json.loads(docker(*run))
    if variant == "cuda":
        check(cuda is not None, f"torch {version} is a CUDA build (CUDA {cuda}) and imports with no GPU")
    else:
        check(cuda is None, f"torch {version} is a CPU build")


# What the node's NVIDIA driver brings (the device plugin mounts it): no image carries these.
DRIVER_LIBRARIES = ("libcuda.so.1", "libnvidia-ml.so.1")
LINKS_PROBE = r"""
import glob, json, subprocess, sys, sysconfig
site = sysconfig.get_path("purelib")
patterns = ("torch/lib/*.so*", "nvidia/**/libcudnn*.so*", "nvidia/**/libnvrtc*.so*")
libs = [p for pattern in patterns for p in glob.glob(f"{site}/{pattern}", recursive=True)]
missing = {}
for lib in libs:
    out = subprocess.run(["ldd", lib], capture_output=True, text=True).stdout
    lost = [line.split()[0] for line in out.splitlines() if "not found" in line]
    lost = [name for name in lost if name not in sys.argv[1:]]
    if lost:
        missing[lib[len(site) + 1:]] = lost
print(json.dumps({"checked": len(libs), "missing": missing}))
"""


def check_linked_libraries(image: str) -> None:
    """torch's libraries, and the cuDNN and NVRTC libraries they open at run time, find every library they
    link, directly or not (the driver's aside): what the slimming removed, torch does not need. (NCCL's and
    NVSHMEM's network plugins, for fabrics a single-GPU server never uses, link libraries no image has.)"""
    run = ("run", "--rm", "--read-only", "--user", UID, "--entrypoint", "python", image,
           "-c", LINKS_PROBE, *DRIVER_LIBRARIES)  # fmt: skip
    found = json.loads(docker(*run, timeout=300))
    check(
        found["checked"] > 0 and not found["missing"],
        f"{found['checked']} torch, cuDNN and NVRTC libraries find all they link ({found['missing'] or 'none missing'})",
    )


def check_start_log(container: Container, variant: str) -> None:
    """LIFTOFF_DEVICE=auto on a machine with no GPU: the log says the server runs on the CPU. And it opened
    the gRPC listener: the server serves HTTP on without it (the log says why), which is no image to ship."""
    logs = subprocess.run(["docker", "logs", container.name], capture_output=True, text=True, timeout=30)
    lines = (logs.stdout + logs.stderr).splitlines()

    def found(wanted: str) -> str:
        return next((line.partition(": ")[2] for line in lines if wanted in line), "")

    device = found("sees no CUDA device, serving on the CPU" if variant == "cuda" else "serving on the CPU")
    check(bool(device), f"the log says it serves on the CPU ({device or 'no such line'})")
    grpc_on = found("gRPC (Open Inference Protocol v2) on")
    check(bool(grpc_on), f"the log says gRPC is on ({grpc_on or found('gRPC is off') or 'no such line'})")


def check_predictions(
    container: Container, rows: list[list[float]], labels: list[int]
) -> tuple[float, list[int]]:
    """Accuracy on the digits sample, and the labels predicted for it."""
    chunks = [rows[i : i + ROWS_PER_REQUEST] for i in range(0, len(rows), ROWS_PER_REQUEST)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda c: http(container.base_url + "/predict", {"instances": c}), chunks))
    predicted = [label for answer in answers for label in predicted_labels(answer)]
    check(len(predicted) == len(labels), f"one prediction per row ({len(predicted)} for {len(labels)})")
    accuracy = sum(p == y for p, y in zip(predicted, labels, strict=True)) / len(labels)
    check(accuracy >= MIN_ACCURACY, f"/predict: {len(labels)} digits at accuracy {accuracy:.3f}")

    # The same rows through the Open Inference Protocol.
    infer = http(
        container.base_url + "/v2/models/digits/infer",
        {"id": "image-test", "inputs": [{"name": "pixels", "shape": [10, 64], "datatype": "FP32",
                                          "data": [x for row in rows[:10] for x in row]}]},
    )  # fmt: skip
    check(infer.status == 200, f"/v2/models/digits/infer answers 200 ({infer.status})")
    body = infer.json()
    assert isinstance(body, dict)
    outputs = {output["name"]: output for output in body["outputs"]}
    check(body.get("id") == "image-test", "the v2 request id is echoed")
    check(outputs["label"]["data"] == predicted[:10], "v2 labels agree with /predict")
    return accuracy, predicted


def check_grpc(container: Container, rows: list[list[float]], predicted: list[int]) -> None:
    """ServerReady and one ModelInfer over the published gRPC port, with the project's own compiled stubs
    and grpcio (tritonclient.grpc needs protobuf 6, which the project's environment cannot hold)."""
    import grpc
    import numpy as np

    from service.grpc import stubs

    pb, pb_grpc = stubs.load()
    with grpc.insecure_channel(f"{container.host}:{container.grpc_port}") as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        try:
            ready = stub.ServerReady(pb.ServerReadyRequest(), timeout=10).ready
            request = pb.ModelInferRequest(model_name="digits", outputs=[{"name": "label"}])
            request.inputs.add(name="pixels", datatype="FP32", shape=[10, 64])
            request.raw_input_contents.append(np.asarray(rows[:10], dtype="<f4").tobytes())
            answer = stub.ModelInfer(request, timeout=30)
        except grpc.RpcError as failure:
            check(False, f"gRPC answers ({failure.code().name}: {failure.details()})")
    check(ready, "gRPC ServerReady answers ready")
    labels = np.frombuffer(answer.raw_output_contents[0], dtype="<i8").tolist()
    check(labels == predicted[:10], f"gRPC ModelInfer labels agree with /predict ({labels})")


def check_healthcheck(container: Container) -> None:
    """Docker runs the image's HEALTHCHECK itself; wait for its verdict."""
    deadline = time.monotonic() + 60
    status = ""
    while time.monotonic() < deadline:
        status = docker("inspect", "--format", "{{.State.Health.Status}}", container.name)
        if status in ("healthy", "unhealthy"):
            break
        time.sleep(0.5)
    check(status == "healthy", f"Docker's HEALTHCHECK reports healthy ({status})")


@dataclass
class SlowUpload:
    """A /predict request whose last body bytes are held back: accepted by the server, not finished."""

    sock: socket.socket
    rest: bytes

    @classmethod
    def start(cls, container: Container, payload: object) -> SlowUpload:
        body = json.dumps(payload).encode()
        head = (
            f"POST /predict HTTP/1.1\r\nHost: {container.host}:{container.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        sock = socket.create_connection((container.host, container.port), timeout=DRAIN_TIMEOUT_S + 10)
        sock.sendall(head + body[:-8])
        return cls(sock, body[-8:])

    def finish(self) -> Response:
        with self.sock:
            self.sock.sendall(self.rest)
            received = []
            while chunk := self.sock.recv(65536):
                received.append(chunk)
        head, _, body = b"".join(received).partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].split()
        return Response(int(status_line[1]) if len(status_line) > 1 else 0, body)


def in_flight(container: Container) -> float:
    for line in http(container.base_url + "/metrics").body.decode().splitlines():
        if line.startswith("liftoff_requests_in_flight "):
            return float(line.split()[-1])
    raise CheckFailed("/metrics has no liftoff_requests_in_flight")


def check_drain(container: Container, rows: list[list[float]], expected: list[int]) -> float:
    """SIGTERM with requests in flight: they finish and succeed, readiness drops, the process exits 0.

    The requests are uploads still in progress when the signal lands (the server has accepted them and
    is reading their bodies), so they are in flight however fast the model is. `expected`: the labels the
    same rows got before the signal.
    """
    uploads = [SlowUpload.start(container, {"instances": [rows[i]]}) for i in range(IN_FLIGHT_REQUESTS)]
    try:
        deadline = time.monotonic() + 10
        while (accepted := in_flight(container) - 1) < IN_FLIGHT_REQUESTS and time.monotonic() < deadline:
            time.sleep(0.05)  # (- 1: the /metrics request counts itself)
        check(
            accepted >= IN_FLIGHT_REQUESTS, f"{accepted:.0f} requests accepted and in flight before SIGTERM"
        )

        signalled = time.monotonic()
        docker("kill", "--signal", "SIGTERM", container.name)
        readiness = _readiness_after_signal(container)
        answers = [upload.finish() for upload in uploads]
    finally:
        for upload in uploads:
            upload.sock.close()
    check(readiness != 200, f"/readyz fails at once after SIGTERM ({readiness or 'connection refused'})")
    statuses = [answer.status for answer in answers]
    check(statuses == [200] * IN_FLIGHT_REQUESTS, f"every in-flight request completed with 200 ({statuses})")
    got = [label for answer in answers for label in predicted_labels(answer)]
    check(got == expected[:IN_FLIGHT_REQUESTS], f"with the same labels as before the signal ({got})")

    exit_code = docker("wait", container.name, timeout=DRAIN_TIMEOUT_S + 30)
    drained_s = time.monotonic() - signalled
    check(exit_code == "0", f"the server exits by itself with status 0 ({exit_code})")
    check(drained_s < DRAIN_TIMEOUT_S, f"{drained_s:.1f} s after SIGTERM, within the drain timeout")
    return drained_s


def _readiness_after_signal(container: Container) -> int:
    """The first answer /readyz gives once the signal is delivered (0: the server stopped listening)."""
    try:
        return http(container.base_url + "/readyz", timeout=5).status
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0


def flood_outcome(host: str, port: int, row: list[float]) -> str:
    """What became of one /predict request on a fresh connection."""
    body = json.dumps({"instances": [row]}).encode()
    request = (
        f"POST /predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    try:
        sock = socket.create_connection((host, port), timeout=5)
    except OSError:
        return "not accepted"
    received = []
    with sock:
        try:
            sock.sendall(request)
            while chunk := sock.recv(65536):
                received.append(chunk)
        except OSError:  # reset, or no answer within the timeout
            return "closed unanswered"
    head = b"".join(received).split(b"\r\n\r\n", 1)[0].lower()
    if head.startswith(b"http/1.1 200 "):
        return "200"
    if head.startswith(b"http/1.1 503 ") and b"retry-after" in head and b"connection: close" in head:
        return "503 retry-after close"
    return f"other: {head[:40]!r}" if head else "closed unanswered"


def check_drain_under_flood(image: str, name: str, env: dict[str, str], row: list[float]) -> Counter[str]:
    """SIGTERM while clients keep opening fresh connections: none that the kernel accepted goes unanswered."""
    outcomes: Counter[str] = Counter()
    with running(image, name, env) as container:
        wait_ready(container)
        # The flood goes to the container's own address on Docker's bridge, not to the published port:
        # there Docker's userland proxy (docker-proxy) accepts every connection itself, answers none, and
        # closes it when the container's end fails, so a connection the server never accepted would count
        # as accepted and closed unanswered, and the check would say nothing about the server.
        address = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
        host = docker("inspect", "--format", address, name)
        check(bool(host), f"the container has an address on Docker's bridge ({host or 'none'})")
        lock, stop = threading.Lock(), threading.Event()

        def client() -> None:
            while not stop.is_set():
                outcome = flood_outcome(host, 8080, row)
                with lock:
                    outcomes[outcome] += 1

        threads = [threading.Thread(target=client) for _ in range(FLOOD_CLIENTS)]
        try:
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 60
            while outcomes["200"] < FLOOD_ANSWERED_BEFORE_SIGNAL and time.monotonic() < deadline:
                stop.wait(0.05)
            check(
                outcomes["200"] >= FLOOD_ANSWERED_BEFORE_SIGNAL,
                f"{FLOOD_CLIENTS} clients reach {host}:8080 directly ({dict(outcomes)} before SIGTERM)",
            )
            docker("kill", "--signal", "SIGTERM", name)
            exit_code = docker("wait", name, timeout=DRAIN_TIMEOUT_S + 30)
            stop.wait(1.5)  # clients that connected at the last moment find out what became of them
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
    check(exit_code == "0", f"under the flood too, the server exits by itself with status 0 ({exit_code})")
    check(outcomes["not accepted"] >= 1, "the flood went on past the exit")
    check(
        set(outcomes) <= FLOOD_ANSWERS,
        f"SIGTERM under {FLOOD_CLIENTS} clients opening fresh connections: none closed unanswered "
        f"({dict(outcomes)})",
    )
    return outcomes


def prove_model_directory(image: str, name: str, model_dir: Path) -> str:
    """An image built with a model directory (`MODEL_DIR=examples/image-classifier`): it starts as a cluster
    runs it, and the held-out digit.png its train.py wrote, posted as a raw image/png body, comes back with
    the right digit as the top class. Returns that class."""
    labels = (model_dir / "labels.txt").read_text(encoding="utf-8").split()
    expected = labels[int((model_dir / "digit.label").read_text())]
    png = (model_dir / "digit.png").read_bytes()
    with running(image, name, {"LIFTOFF_DEVICE": "auto"}) as container:
        ready_s = wait_ready(container)
        print(f"  --  ready {ready_s:.2f} s after docker run", flush=True)
        request = urllib.request.Request(
            container.base_url + "/predict", data=png, headers={"content-type": "image/png"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
    top = answer["predictions"][0]["classes"][0]
    check(top == expected, f"{model_dir.name}: a PNG of a {expected} through the container is a {top!r}")
    return str(top)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Prove a built Liftoff inference image.")
    parser.add_argument("--image", default="liftoff:cpu")
    parser.add_argument("--variant", choices=sorted(SIZE_LIMIT_BYTES), default="cpu")
    parser.add_argument(
        "--model-dir",
        type=Path,
        help="the image was built with this model directory (trained): prove it answers a PNG instead",
    )
    args = parser.parse_args(argv)
    if args.model_dir is not None:
        try:
            prove_model_directory(args.image, f"liftoff-image-test-model-{os.getpid()}", args.model_dir)
        except (CheckFailed, subprocess.TimeoutExpired, OSError, KeyError, ValueError) as failure:
            print(f"FAIL  {failure}", file=sys.stderr)
            return 1
        return 0
    size_limit = SIZE_LIMIT_BYTES[args.variant]
    # A timeout around the test (CI's) sends SIGTERM: unwind, so the container is still removed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    name = f"liftoff-image-test-{os.getpid()}"
    rows, labels = digits_sample()
    print(f"image {args.image}", flush=True)
    try:
        size = check_configuration(args.image)
        print(image_sizes.report(args.image), flush=True)
        check(size < size_limit, f"size {size / 1e6:.0f} MB < {size_limit / 1e6:.0f} MB")
        check_contents(args.image)
        check_torch_build(args.image, args.variant)
        if args.variant == "cuda":
            check_linked_libraries(args.image)
        env = {"LIFTOFF_DRAIN_TIMEOUT_S": str(DRAIN_TIMEOUT_S), "LIFTOFF_DEVICE": "auto"}
        with running(args.image, name, env) as container:
            ready_s = wait_ready(container)
            print(
                f"  --  ready {ready_s:.2f} s after docker run (target < {READY_TARGET_S:.0f} s)", flush=True
            )
            check_start_log(container, args.variant)
            accuracy, predicted = check_predictions(container, rows, labels)
            check_grpc(container, rows, predicted)
            check_healthcheck(container)
            drained_s = check_drain(container, rows, predicted)
        flood = check_drain_under_flood(args.image, f"{name}-flood", env, rows[0])
    except (CheckFailed, subprocess.TimeoutExpired, subprocess.CalledProcessError, OSError) as failure:
        print(f"FAIL  {failure}", file=sys.stderr)
        return 1
    print(
        f"\nimage {args.image}: size {size / 1e6:.0f} MB (target < {size_limit / 1e6:.0f} MB), "
        f"ready {ready_s:.2f} s after docker run (target < {READY_TARGET_S:.0f} s), "
        f"digits accuracy {accuracy:.3f}, SIGTERM to exit {drained_s:.1f} s with "
        f"{IN_FLIGHT_REQUESTS} requests in flight; SIGTERM under a flood of fresh connections: {dict(flood)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
