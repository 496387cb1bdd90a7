"""Where a Liftoff request's time goes: py-spy samples the server while wrk drives it.

    python -m bench.profile --model digits --concurrency 64 --seconds 15     # or: make bench-profile

Prints the functions with the most samples, by their own time and including what they call, summed over
the server's processes (py-spy from the pinned tool environment .bench/venv-tools).
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import threading
from pathlib import Path

from bench import catalog, envs, loadgen
from bench.servers import SERVERS, serve


def summarise(raw: Path, top: int) -> str:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
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
        load = threading.Thread(
            target=loadgen.run_wrk, args=(url, script, args.concurrency, args.seconds + 4), daemon=True
        )
        load.start()
        subprocess.run(
            [
                str(tools.bin / "py-spy"),
                "record",
                "--pid",
                str(server.process.pid),
                "--subprocesses",
                "--duration",
                str(args.seconds),
                "--rate",
                "200",
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(raw),
            ],
            check=True,
            capture_output=True,
        )
        load.join()
    print(summarise(raw, args.top))


if __name__ == "__main__":
    main()
