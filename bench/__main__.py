"""`python -m bench`: the side-by-side benchmark behind `make bench` (see the package docstring)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import torch

from bench import benchmarks_doc, catalog, envs, grpc_load, loadgen, profile
from bench.benchmarks_doc import ServerRun
from bench.fair_ceiling import fair_ceiling
from bench.memory import PeakMemory, tree_cpu_seconds
from bench.servers import BF16_SERVERS, SERVERS, BenchModel, Running, serve
from service.model.cpu_precision import runs_natively_on_cpu

# Every batch size a server may form, up to the largest Liftoff serves each model with (bench/catalog.py,
# bench/servers.py: digits 64; ResNet 8), by powers of two; bfloat16 is tried up to 64, which shows why 8.
CEILING_ARGS = {
    "digits": ["--batches", "1,2,4,8,16,32,64"],
    "resnet18": ["--batches", "1,2,4,8"],
}
BF16_CEILING_ARGS = {"resnet18": ["--bf16-batches", "1,2,4,8,16,32,64"]}
COMPETITOR_ENVS = {
    "litserve": "litserve",
    "torchserve": "torchserve",
    "liftoff-torchserve": "torchserve",  # its archive is made with TorchServe's torch-model-archiver
    "bentoml": "bentoml",
}
# Models held to a share of the fair ceiling: each of their Liftoff rows gets a py-spy profile of
# where the gap goes, after its points, at the top concurrency (bench/gap_profile.py).
PROFILED_MODELS = ("resnet18",)


def _machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    wrk = subprocess.run([loadgen.wrk_binary(), "--version"], capture_output=True, text=True, check=False)
    wrk_version = (wrk.stdout or wrk.stderr).split()[1] if (wrk.stdout or wrk.stderr) else "?"
    return (
        f"{cpu}, {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
        f"torch {torch.__version__}, wrk {wrk_version}"
    )


def ceiling(model: BenchModel, seconds: float, bf16: bool) -> dict[str, Any]:
    """The fair ceiling (bench/fair_ceiling.py): every layout of processes x threads on this machine's cores."""
    if model.path.is_dir():
        return {}  # a model served through its handler: the handler's decode, not the forward pass, bounds it
    cores = os.cpu_count() or 1
    args = CEILING_ARGS.get(model.name, []) + (BF16_CEILING_ARGS.get(model.name, []) if bf16 else [])
    return fair_ceiling(str(envs.Env.project().python), model.path, args, seconds, cores, envs.REPO)


def _load_generator(
    server: Running, key: str, model: str, workdir: Path
) -> Callable[[int, float], loadgen.LoadResult]:
    """wrk for the HTTP rows; h2load for the gRPC row (bench/grpc_load.py), the same closed loop."""
    if server.grpc_port is None:
        script = loadgen.write_lua(server.payload, workdir / f"{key}-{model}.lua")
        return lambda c, seconds: loadgen.run_wrk(server.base_url + server.path, script, c, seconds)
    frame = workdir / f"{key}-{model}.grpc"
    frame.write_bytes(grpc_load.digits_frame())
    grpc_url, metrics_url = f"http://127.0.0.1:{server.grpc_port}", server.base_url + "/metrics"
    log = workdir / f"{key}-{model}.h2load.log"
    return lambda c, seconds: grpc_load.run_h2load(grpc_url, metrics_url, frame, c, seconds, log)


def profiled(model: BenchModel, key: str) -> bool:
    return model.name in PROFILED_MODELS and key.startswith("liftoff")


def measure(
    model: BenchModel,
    key: str,
    workdir: Path,
    concurrencies: list[int],
    seconds: float,
    py_spy: Path | None = None,
    profile_seconds: int = 0,
) -> ServerRun:
    kind = SERVERS[key]
    run = ServerRun(model.name, key, kind.label)
    if key.startswith("liftoff"):
        run.stack = catalog.stack_settings(kind.launch(model, 0, workdir).env)
    try:
        with serve(kind, model, workdir) as server:
            run.start_s = server.start_s
            load = _load_generator(server, key, model.name, workdir)
            with PeakMemory(server.process.pid) as memory:
                # Warm-up, not recorded; few connections, so no backlog is left for the first point.
                load(min(4, max(concurrencies)), min(seconds, 3))
                for c in concurrencies:
                    cpu_before = tree_cpu_seconds(server.process.pid)
                    wrk_before = _children_cpu_seconds()
                    point = load(c, seconds)
                    cpu = tree_cpu_seconds(server.process.pid) - cpu_before
                    run.loadgen_cores[c] = (_children_cpu_seconds() - wrk_before) / max(point.seconds, 1e-9)
                    run.points.append(point)
                    run.cpu_ms[c] = 1000 * cpu / max(point.requests - point.errors, 1)
                    print(
                        f"  {model.name:9} {kind.label:38} c={c:<3} {point.rps:9,.1f} req/s  "
                        f"p50 {point.p50_ms:7.1f} ms  p99 {point.p99_ms:7.1f} ms  errors {point.errors}  "
                        f"cpu {run.cpu_ms[c]:.2f} ms/req  wrk {run.loadgen_cores[c]:.2f} cores",
                        flush=True,
                    )
            run.peak_mib, run.tree_pss_mib = memory.peak_mib, memory.peak_pss_mib
            run.worker_rss_mib, run.worker_pss_mib = memory.worker_peaks_mib()
            run.workers = len(memory.workers())
            if (
                py_spy is not None
                and profile_seconds > 0
                and profiled(model, key)
                and server.grpc_port is None
            ):
                script = loadgen.write_lua(server.payload, workdir / f"{key}-{model.name}.lua")
                url = server.base_url + server.path
                _profile(run, server.process.pid, url, script, max(concurrencies), py_spy, profile_seconds)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        run.failure = str(exc).splitlines()[0][:200]
        print(f"  {model.name:9} {kind.label:38} FAILED: {run.failure}", flush=True)
    return run


def median_run(rounds: list[ServerRun]) -> ServerRun:
    """One server's rounds as one run: at each concurrency the round with the median req/s (the lower middle
    of an even count), its CPU ms/req and load generator's cores beside it; start time the median, peak memory
    the highest; the gap profile the first round's."""
    done = [r for r in rounds if not r.failure]
    if not done:
        return rounds[0]
    merged = dataclasses.replace(
        done[0],
        points=[],
        cpu_ms={},
        loadgen_cores={},
        start_s=sorted(r.start_s for r in done)[(len(done) - 1) // 2],
        peak_mib=max(r.peak_mib for r in done),
        tree_pss_mib=max(r.tree_pss_mib for r in done),
        worker_rss_mib=max(r.worker_rss_mib for r in done),
        worker_pss_mib=max(r.worker_pss_mib for r in done),
    )
    for c in [p.concurrency for p in done[0].points]:
        measured = sorted(((point, r) for r in done if (point := r.at(c))), key=lambda pr: pr[0].rps)
        point, median = measured[(len(measured) - 1) // 2]
        merged.points.append(point)
        merged.cpu_ms[c] = median.cpu_ms.get(c, 0.0)
        merged.loadgen_cores[c] = median.loadgen_cores.get(c, 0.0)
    return merged


def _children_cpu_seconds() -> float:
    """CPU used by this process's finished children: around one wrk run, wrk's own (is the load generator
    what saturates when c=64 serves no more than c=32?)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _profile(run: ServerRun, pid: int, url: str, script: Path, c: int, py_spy: Path, seconds: int) -> None:
    """The row's gap profile; a profiler that fails leaves the row's figures and says why in the report."""
    raw = envs.BENCH_DIR / "run" / f"profile-{run.key}-{run.model}.txt"
    try:
        run.gap = profile.gap_under_load(py_spy, pid, url, script, c, seconds, raw)
        run.gap_concurrency = c
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        run.gap_failure = str(exc).splitlines()[0][:200]
    print(f"  {run.model:9} {run.label:38} profile at c={c}: {run.gap or run.gap_failure}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="digits only, Liftoff (HTTP and gRPC) against the baseline, 3 s per point; writes no docs",
    )
    parser.add_argument("--models", default="digits,resnet18,image-classifier")
    parser.add_argument("--servers", default="", help="comma-separated subset of: " + ", ".join(SERVERS))
    parser.add_argument("--concurrency", default="1,8,32,64")
    parser.add_argument("--seconds", type=float, default=15.0, help="load per point")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every server this many times, one after another in turn, and report each point's "
        "median: servers compared on a shared machine then see the same spells of load",
    )
    parser.add_argument("--ceiling-seconds", type=float, default=3.0)
    parser.add_argument(
        "--profile-seconds",
        type=int,
        default=10,
        help=f"py-spy per Liftoff row of {', '.join(PROFILED_MODELS)} at the top concurrency (0: none)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"markdown to update (default {benchmarks_doc.DOC} unless --quick)",
    )
    parser.add_argument(
        "--liftoff-env",
        action="append",
        default=[],
        metavar="LIFTOFF_X=V",
        help="override one of Liftoff's settings for this run (repeatable), e.g. for a batching sweep",
    )
    parser.add_argument(
        "--section",
        default="cpu",
        help="the section of --out to write (its other sections stay as they are): 'cpu' for the full run; "
        "another name records a subset of rows beside it without replacing the full run's figures",
    )
    parser.add_argument("--note", default=os.environ.get("BENCH_NOTE", ""), help="conditions worth recording")
    args = parser.parse_args()
    if args.quick:
        args.models, args.servers, args.seconds, args.ceiling_seconds = (
            "digits",
            "liftoff,liftoff-grpc,fastapi-1",
            3.0,
            1.0,
        )
    out = args.out if args.out is not None else (None if args.quick else benchmarks_doc.DOC)
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    wanted = [s for s in args.servers.split(",") if s]
    unknown = [s for s in wanted if s not in SERVERS]
    if unknown:
        parser.error(f"unknown server(s) {unknown}; choose from {list(SERVERS)}")

    loadgen.wrk_binary()
    overrides = dict(item.split("=", 1) for item in args.liftoff_env)
    models = {
        name: dataclasses.replace(model, liftoff_env={**model.liftoff_env, **overrides})
        for name, model in catalog.load(args.models.split(",")).items()
    }
    plan = [(m, key) for m in models.values() for key in m.servers if not wanted or key in wanted]
    bf16 = runs_natively_on_cpu(torch.bfloat16)
    left_out = [] if bf16 else sorted({key for _, key in plan} & BF16_SERVERS)
    if left_out or (not bf16 and BF16_CEILING_ARGS.keys() & models.keys()):
        plan = [(m, key) for m, key in plan if key not in BF16_SERVERS]
        why = "this CPU emulates bfloat16 (no AVX-512), so its ceilings and rows are left out"
        print(f"{why}: {', '.join(left_out)}", flush=True)
        args.note = f"{args.note}; {why}" if args.note else why
    for key in sorted({key for _, key in plan} & COMPETITOR_ENVS.keys()):
        envs.ensure(COMPETITOR_ENVS[key])
    workdir = envs.BENCH_DIR / "run"
    workdir.mkdir(parents=True, exist_ok=True)
    wants_profiles = args.profile_seconds > 0 and any(profiled(m, key) for m, key in plan)
    py_spy = envs.ensure("tools").bin / "py-spy" if wants_profiles else None

    started = datetime.now(UTC)
    load_before = os.getloadavg()
    print(f"fair forward-pass ceilings ({args.ceiling_seconds:g} s per configuration and layout)", flush=True)
    ceilings = {}
    for model in models.values():
        ceilings[model.name] = ceiling(model, args.ceiling_seconds, bf16)
        print(f"  {model.name}: {json.dumps(ceilings[model.name].get('best'))}", flush=True)
    print(f"load: wrk -t1, {args.seconds:g} s per point, c = {args.concurrency}", flush=True)
    # The gap profile is taken in the first round only: it measures where time goes, not how fast.
    rounds = [
        [
            measure(
                model,
                key,
                workdir,
                concurrencies,
                args.seconds,
                py_spy if index == 0 else None,
                args.profile_seconds,
            )
            for model, key in plan
        ]
        for index in range(args.rounds)
    ]
    runs = [median_run(list(same)) for same in zip(*rounds, strict=True)]
    load_after = os.getloadavg()
    elapsed = (datetime.now(UTC) - started).total_seconds()

    command = os.environ.get("BENCH_COMMAND") or "python -m bench " + shlex.join(sys.argv[1:])
    header = [
        f"## CPU run: `{command}`" if args.section == "cpu" else f"## CPU run, {args.section}: `{command}`",
        "",
        f"- When: {started:%Y-%m-%d %H:%M} UTC, {elapsed / 60:.1f} min.",
        f"- Machine: {_machine()}.",
        f"- Load: `wrk -t1 -c<c> -d{args.seconds:g}s` on 127.0.0.1"
        + (f" ({args.rounds} rounds taken in turn, each point the median round's)" if args.rounds > 1 else "")
        + " with one fixed request body per model "
        "(bench/bodies.py), after a 3 s warm-up per server at c=4. req/s counts only successful answers. "
        "Memory is sampled every 0.25 s per process of the server's tree (psutil's memory_full_info): "
        '"worker RSS" and "worker PSS" are the highest any one worker reached (a worker: a process the server '
        "started, or the server itself if it starts none), PSS dividing shared pages among the processes that "
        'share them; "total PSS" is the whole tree\'s peak, its real footprint. '
        "CPU ms/req is the server tree's CPU time over the point divided by "
        "its successful requests: the figure that stays comparable when other work shares the machine. "
        '"ready s" is process start to the first successful answer.',
        f"- Load average (1, 5, 15 min) before: {', '.join(f'{v:.2f}' for v in load_before)}; "
        f"after: {', '.join(f'{v:.2f}' for v in load_after)}.",
    ]
    if args.note:
        header.append(f"- Note: {args.note}")
    text = benchmarks_doc.render(header, ceilings, runs, concurrencies)
    print("\n" + text)
    raw = {
        "started": started.isoformat(),
        "ceilings": ceilings,
        "runs": [{**asdict(r), "points": [{**asdict(p), "rps": p.rps} for p in r.points]} for r in runs],
    }
    (envs.BENCH_DIR / "last-run.json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
    if out is not None:
        benchmarks_doc.replace_section(out, args.section, text, benchmarks_doc.DOC_PREAMBLE)
        print(f"wrote {out}")


if __name__ == "__main__":
    time.tzset()
    main()
