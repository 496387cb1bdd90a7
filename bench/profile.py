"""Where a Liftoff request's time goes: py-spy samples the server while wrk drives it.

    python -m bench.profile --model digits --concurrency 64 --seconds 15     # or: make bench-profile

Prints the functions with the most samples, by their own time and including what they call, summed over
the server's processes (py-spy from the pinned tool environment .bench/venv-tools), then the same samples
grouped as `make bench` reports them (bench/gap_profile.py).
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import threading
from pathlib import Path

from bench import catalog, envs, gap_profile, loadgen
from bench.gap_profile import INFERENCE_THREAD
from bench.servers import SERVERS, serve


def summarise(raw: Path, top: int) -> str:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        # --threads puts the process and the thread first: they name no function.
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread ("))]
        frames = frames or ["(no Python frame: a thread in native code)"]
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    if not total:
        return "no samples"
    out = [f"{total} samples", "", "own time:"]
    out += [f"  {n / total:6.1%}  {frame}" for frame, n in own.most_common(top)]
    out += ["", "including callees:"]
    out += [f"  {n / total:6.1%}  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(out)


def py_spy_command(py_spy: Path, pid: int, seconds: int, out: Path, idle: bool) -> list[str]:
    """Sample `pid` and its subprocesses for `seconds`, raw stacks with thread names; with `idle`, threads
    that wait are sampled too (a thread's wall time rather than its CPU)."""
    return [
        str(py_spy),
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--duration",
        str(seconds),
        "--rate",
        "200",
        "--format",
        "raw",
        "--nonblocking",
        "--threads",
        "--full-filenames",
        *(["--idle"] if idle else []),
        "--output",
        str(out),
    ]


def record_under_load(
    py_spy: Path, pid: int, url: str, script: Path, concurrency: int, seconds: int, outputs: dict[Path, bool]
) -> None:
    """wrk drives the server while one py-spy per output records it ({raw file: sample idle threads too})."""
    load = threading.Thread(target=loadgen.run_wrk, args=(url, script, concurrency, seconds + 4), daemon=True)
    load.start()
    spies = [
        subprocess.Popen(
            py_spy_command(py_spy, pid, seconds, out, idle), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for out, idle in outputs.items()
    ]
    failed = []
    for spy in spies:
        _, err = spy.communicate(timeout=seconds + 60)
        if spy.returncode != 0:
            failed.append(
                err.decode(errors="replace").strip().splitlines()[-1:] or [f"exit {spy.returncode}"]
            )
    load.join()
    if failed:
        raise RuntimeError(f"py-spy failed: {failed[0][0]}")


def gap_under_load(
    py_spy: Path, pid: int, url: str, script: Path, concurrency: int, seconds: int, raw: Path
) -> dict[str, dict[str, float]]:
    """Record a loaded server (raw stacks kept at `raw` and its .idle twin) and group the samples as
    bench/gap_profile.py does: {"cpu": the server's CPU by category, "inference": the inference thread's time}."""
    idle = raw.with_suffix(".idle.txt")
    record_under_load(py_spy, pid, url, script, concurrency, seconds, {raw: False, idle: True})
    return {"cpu": gap_profile.shares(raw), "inference": gap_profile.shares(idle, INFERENCE_THREAD)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="digits")
    parser.add_argument(
        "--server", default="liftoff", choices=[k for k in SERVERS if k.startswith("liftoff")]
    )
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    tools = envs.ensure("tools")
    model = catalog.load([args.model])[args.model]
    workdir = envs.BENCH_DIR / "run"
    workdir.mkdir(parents=True, exist_ok=True)
    raw = workdir / f"profile-{args.server}-{args.model}.txt"
    with serve(SERVERS[args.server], model, workdir) as server:
        script = loadgen.write_lua(server.payload, workdir / f"{args.server}-{args.model}.lua")
        url = server.base_url + server.path
        loadgen.run_wrk(url, script, args.concurrency, 3)
        gap = gap_under_load(
            tools.bin / "py-spy", server.process.pid, url, script, args.concurrency, args.seconds, raw
        )
    print(summarise(raw, args.top))
    print("\nwhere the time goes (bench/gap_profile.py):")
    print("\n".join(gap_profile.table(gap["cpu"], gap["inference"])))


if __name__ == "__main__":
    main()
