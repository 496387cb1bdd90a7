"""Where the gap to the ceiling goes: a short py-spy profile of a Liftoff row, grouped into a few categories.

Two py-spy recordings run side by side while wrk drives the server at the row's top concurrency:
- on-CPU samples of every worker thread (py-spy's default): the share of the server's CPU each category takes;
- every sample of the inference thread, idle ones included (--idle): the share of its wall time in the
  forward pass, in copies, and waiting for a batch. A ceiling-bound server keeps that thread in the forward
  pass; any other share of its time is throughput lost.

A sample is put in the category of its innermost frame that names one (bench/profile.py records and reads
the raw stacks); the source line of a frame decides between the forward pass and a copy in the same function.
"""

from __future__ import annotations

import collections
import linecache
import re
from dataclasses import dataclass
from pathlib import Path

FORWARD = "forward pass"
COPIES = "copies (stacking, dtype and layout conversions)"
DECODE = "decode and encode (JSON, base64, tensors)"
BATCHING = "batching (queue, hand-off, waits for a batch)"
HTTP = "HTTP and event loop"
OTHER = "other"
CATEGORIES = (FORWARD, COPIES, DECODE, BATCHING, HTTP, OTHER)
INFERENCE_THREAD = "liftoff-inference"

_FRAME = re.compile(r"^(?P<func>.*) \((?P<path>.*):(?P<line>\d+)\)$")
# A source line that copies data rather than computes: stacking requests, dtype, device and layout changes.
_COPY_LINE = re.compile(
    r"\b(concatenate|from_numpy|frombuffer|contiguous|astype|ascontiguousarray|np\.stack|torch\.(cat|stack))\b"
    r"|\.to\(|\.copy\(|\.numpy\(\)|\.tobytes\("
)
_DECODE_FILES = (
    "service/api/tensors.py",
    "service/api/binary.py",
    "service/api/triton_ext.py",
    "service/api/encoded.py",
    "service/api/bodies.py",
    "/json/",
    "/base64.py",
    "/pydantic/",
    "/pydantic_core/",
)
_DECODE_FUNCS = re.compile(
    r"(^|\.)(decode|encode|parse_json|json_response|_json_rows|_per_row|"
    r"check_separators|instances_array|decode_inputs|encode_outputs)\w*$"
)
_HTTP_FILES = (
    "/uvicorn/",
    "/httptools/",
    "/h11/",
    "/starlette/",
    "/fastapi/",
    "/uvloop/",
    "/asyncio/runners.py",
    "/asyncio/base_events.py",
    "/asyncio/selector_events.py",
    "service/fastpath.py",
    "service/middleware.py",
    "service/body_limit.py",
    "service/auth.py",
    "service/connections.py",
    "service/drain.py",
    "service/api/",
)
# Machinery every category runs through: it names no category of its own.
_TRANSPARENT = ("/asyncio/", "/concurrent/futures/", "/threading.py", "/queue.py", "<frozen runpy>")


@dataclass(frozen=True)
class Frame:
    func: str
    path: str
    line: int

    @classmethod
    def parse(cls, text: str) -> Frame | None:
        found = _FRAME.match(text)
        if found is None:
            return None
        return cls(found["func"], found["path"], int(found["line"]))

    def source(self) -> str:
        return linecache.getline(self.path, self.line)


def _category(frame: Frame) -> str | None:
    path = frame.path
    if path.endswith("service/batching.py"):
        return COPIES if _COPY_LINE.search(frame.source()) else BATCHING
    if path.endswith("service/model/served.py") or path.endswith("service/model/outputs.py"):
        return COPIES if _COPY_LINE.search(frame.source()) else FORWARD
    if "/torch/" in path:
        return FORWARD
    if any(part in path for part in _DECODE_FILES) or _DECODE_FUNCS.search(frame.func):
        return DECODE
    if any(part in path for part in _HTTP_FILES):
        return HTTP
    if any(part in path for part in _TRANSPARENT):
        return None
    return OTHER


def classify(frames: list[str]) -> tuple[str, str]:
    """(thread name, category) of one raw py-spy stack (root first, as `--threads` writes it)."""
    thread = next((f.split(": ", 1)[1] for f in frames if f.startswith("thread (")), "")
    for text in reversed(frames):
        frame = Frame.parse(text)
        category = _category(frame) if frame else None
        if category:
            return thread, category
    # Nothing but pool and event-loop machinery: an inference thread there is waiting for its next batch.
    return thread, BATCHING if thread.startswith(INFERENCE_THREAD) else OTHER


def shares(raw: Path, thread_prefix: str = "") -> dict[str, float]:
    """Each category's share of the samples in a raw py-spy file (only threads named `thread_prefix...`)."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        thread, category = classify(stack.split(";"))
        if thread.startswith(thread_prefix):
            counts[category] += int(count)
    total = sum(counts.values())
    return {name: counts[name] / total for name in CATEGORIES if counts[name]} if total else {}


def table(cpu: dict[str, float], inference: dict[str, float]) -> list[str]:
    """The markdown rows: each category's share of the server's CPU and of the inference thread's time."""
    lines = [
        "| where | share of the workers' on-CPU samples | share of the inference thread's time |",
        "|---|---:|---:|",
    ]
    for name in CATEGORIES:
        if name in cpu or name in inference:
            lines.append(f"| {name} | {cpu.get(name, 0):.0%} | {inference.get(name, 0):.0%} |")
    return lines
