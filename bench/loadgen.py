"""Drive a server with `wrk` (Debian's package): the same load generator and request bodies for every server.

The request body is read once from a file by a small Lua script; another Lua hook prints wrk's own summary
and latency percentiles as one JSON line, which is what the harness reads.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA_TEMPLATE = """\
-- Written by bench/loadgen.py: POST the same body on every request, print the summary as JSON.
wrk.method = "POST"
wrk.headers["Content-Type"] = "{content_type}"
{extra_headers}
local f = assert(io.open("{body_path}", "rb"))
wrk.body = f:read("*a")
f:close()

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %f}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


@dataclass(frozen=True)
class Payload:
    """One request as it goes on the wire: where to POST it and the bytes."""

    path: str
    body_file: Path
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LoadResult:
    concurrency: int
    requests: int
    seconds: float
    errors: int
    """Socket errors, timeouts and non-2xx/3xx answers, all together."""
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        # wrk counts a request that failed too; only answered, successful ones are throughput.
        return max(self.requests - self.errors, 0) / self.seconds if self.seconds else 0.0


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit(
            "wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`"
        )
    return found


def write_lua(payload: Payload, script_path: Path) -> Path:
    extra = "\n".join(f'wrk.headers["{name}"] = "{value}"' for name, value in payload.headers)
    script_path.write_text(
        LUA_TEMPLATE.format(
            content_type=payload.content_type, extra_headers=extra, body_path=payload.body_file.resolve()
        ),
        encoding="utf-8",
    )
    return script_path


def run_wrk(
    url: str, lua_script: Path, concurrency: int, seconds: float, timeout_s: float = 10.0
) -> LoadResult:
    """One point: `concurrency` connections, each sending its next request when the last is answered."""
    command = [
        wrk_binary(),
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout_s:g}s",
        "-s",
        str(lua_script),
        url,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + timeout_s + 30, check=False
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    raw = json.loads(line.removeprefix("BENCH_RESULT "))
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["status"] + raw["timeout"]
    return LoadResult(
        concurrency=concurrency,
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        errors=errors,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
    )
