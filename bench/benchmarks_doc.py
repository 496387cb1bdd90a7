"""Turn one run's measurements into the markdown of docs/benchmarks.md (and the same tables on stdout)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import envs, gap_profile
from bench.loadgen import LoadResult
from bench.servers import BASELINE

DOC = envs.REPO / "docs" / "benchmarks.md"
DOC_PREAMBLE = """# Benchmarks

Every figure here was written by the command named beside it; rerun it to check. `make bench QUICK=1`
is a one-minute smoke run that prints and writes nothing here.
"""
LIFTOFF_PREFIX = "liftoff"


@dataclass
class ServerRun:
    model: str
    key: str
    label: str
    start_s: float = 0.0
    peak_mib: float = 0.0
    """The whole tree's peak RSS, shared pages counted once per process (kept for comparison with old runs)."""
    worker_rss_mib: float = 0.0
    """The highest RSS one worker reached (bench/memory.py: the root's descendants, or the root alone)."""
    worker_pss_mib: float = 0.0
    """The highest PSS one worker reached: its RSS with shared pages divided among the processes sharing them."""
    tree_pss_mib: float = 0.0
    """The whole tree's peak PSS: what the server really takes."""
    workers: int = 0
    points: list[LoadResult] = field(default_factory=list)
    cpu_ms: dict[int, float] = field(default_factory=dict)
    """Server CPU time per successful request at each concurrency (the whole process tree)."""
    failure: str | None = None
    loadgen_cores: dict[int, float] = field(default_factory=dict)
    """wrk's own CPU over each point, in cores: near 1.0 the load generator, not the server, is the limit."""
    gap: dict[str, dict[str, float]] = field(default_factory=dict)
    """bench/gap_profile.py's shares: {"cpu": {category: share}, "inference": {category: share}}."""
    gap_concurrency: int = 0
    gap_failure: str | None = None
    stack: list[str] = field(default_factory=list)
    """The stack settings that deploy what a Liftoff row measured (bench/catalog.py: stack_settings)."""

    def at(self, concurrency: int) -> LoadResult | None:
        return next((p for p in self.points if p.concurrency == concurrency), None)


def _table(runs: list[ServerRun], concurrencies: list[int]) -> list[str]:
    baseline = next((r for r in runs if r.key == BASELINE), None)
    lines = [
        "| server | c | req/s | p50 ms | p99 ms | errors | vs baseline | CPU ms/req | worker RSS MiB | "
        "worker PSS MiB | total PSS MiB | ready s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        if run.failure:
            lines.append(f"| {run.label} | | failed: {run.failure} | | | | | | | | | |")
            continue
        for c in concurrencies:
            point = run.at(c)
            if point is None:
                continue
            base = baseline.at(c) if baseline else None
            ratio = f"{point.rps / base.rps:.2f}x" if base and base.rps else "-"
            lines.append(
                f"| {run.label} | {c} | {point.rps:,.1f} | {point.p50_ms:.1f} | {point.p99_ms:.1f} | "
                f"{point.errors} | {ratio} | {run.cpu_ms.get(c, 0):.2f} | {run.worker_rss_mib:,.0f} | "
                f"{run.worker_pss_mib:,.0f} | {run.tree_pss_mib:,.0f} | {run.start_s:.1f} |"
            )
    return lines


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _share_line(what: str, rate: float, ceiling: dict[str, Any], goal: float, top_c: int) -> str:
    share = rate / ceiling["rate"]
    verdict = (
        "ABOVE 100%: the ceiling missed a layout, a bug in the ceiling, not a result"
        if share > 1.0
        else _verdict(share >= goal)
    )
    return (
        f"- {what} at c={top_c}: {rate:.1f} images/s = {share:.0%} of the fair ceiling {ceiling['rate']:.1f} "
        f"({ceiling['layout']}, {ceiling['config']}) (issue 22: >= {goal:.0%}): {verdict}"
    )


# The target: one digits worker at most 300 MB (decimal megabytes) resident.
DIGITS_WORKER_RSS_LIMIT_BYTES = 300 * 10**6


def _worker_memory_line(run: ServerRun) -> str:
    rss_bytes = run.worker_rss_mib * 2**20
    return (
        f"- one worker's peak memory: RSS {rss_bytes / 1e6:,.0f} MB, PSS {run.worker_pss_mib * 2**20 / 1e6:,.0f} MB "
        f"({run.workers} worker{'s' if run.workers != 1 else ''}, {run.tree_pss_mib * 2**20 / 1e6:,.0f} MB PSS in "
        f"all) (issue 22: RSS at most 300 MB): {_verdict(0 < rss_bytes <= DIGITS_WORKER_RSS_LIMIT_BYTES)}"
    )


# Below this share of the c=32 figure, c=64 counts as serving fewer req/s (run-to-run noise on a quiet
# machine stays within it).
SATURATION_TOLERANCE = 0.95


def _saturation_line(run: ServerRun, top_c: int, below_c: int = 32) -> list[str]:
    """Whether c=64 served fewer req/s than c=32, with the facts that tell the causes
    apart: errors (a queue shedding 503s), the server's CPU per request, and wrk's own CPU."""
    top, below = run.at(top_c), run.at(below_c)
    if top is None or below is None or top_c == below_c or not below.rps:
        return []
    share = top.rps / below.rps

    def facts(c: int, point: LoadResult) -> str:
        return (
            f"c={c} {point.rps:,.0f} req/s, {point.errors} errors, {run.cpu_ms.get(c, 0):.2f} CPU ms/req, "
            f"wrk {run.loadgen_cores.get(c, 0):.2f} cores"
        )

    return [
        f"- c={top_c} against c={below_c}: {share:.0%} ({facts(top_c, top)}; {facts(below_c, below)}) "
        f"(issue 22: no fewer req/s at c={top_c}, within {1 - SATURATION_TOLERANCE:.0%}): "
        f"{_verdict(share >= SATURATION_TOLERANCE)}"
    ]


def targets(model: str, runs: list[ServerRun], ceilings: dict[str, Any], top_c: int) -> list[str]:
    """The targets, checked against this run's figures (never against old ones)."""
    by_key = {r.key: r for r in runs if not r.failure}
    lines: list[str] = []
    mine = by_key.get("liftoff")
    if model == "digits" and mine:
        top, base = mine.at(top_c), by_key.get(BASELINE)
        base_top = base.at(top_c) if base else None
        if top and base_top:
            ratio = top.rps / base_top.rps
            lines.append(
                f"- c={top_c}: {ratio:.2f}x the naive baseline, p99 {top.p99_ms:.1f} ms vs "
                f"{base_top.p99_ms:.1f} ms (issue 2: >= 3x and lower p99): "
                f"{_verdict(ratio >= 3 and top.p99_ms < base_top.p99_ms)}"
            )
        torchserve = by_key.get("torchserve")
        ts_top = torchserve.at(top_c) if torchserve else None
        if top and ts_top:
            ratio = top.rps / ts_top.rps
            lines.append(
                f"- c={top_c}: {ratio:.2f}x TorchServe with batching ({ts_top.rps:,.0f} req/s), p99 "
                f"{top.p99_ms:.1f} vs {ts_top.p99_ms:.1f} ms (issue 22: >= 2.0x and lower p99): "
                f"{_verdict(ratio >= 2.0 and top.p99_ms < ts_top.p99_ms)}"
            )
        lines += _saturation_line(mine, top_c)
        one, base_one = mine.at(1), base.at(1) if base else None
        if one and base_one:
            lines.append(
                f"- c=1: {one.rps:,.0f} req/s vs plain FastAPI {base_one.rps:,.0f} "
                f"(issue 10: no slower): {_verdict(one.rps >= base_one.rps)}"
            )
        lines.append(
            f"- process start to ready: {mine.start_s:.2f} s (issue 10: under 3 s): "
            f"{_verdict(mine.start_s < 3)}"
        )
        lines.append(_worker_memory_line(mine))
    handler = by_key.get("liftoff-handler")
    if model == "digits" and mine and handler:
        plain, handled = mine.at(top_c), handler.at(top_c)
        if plain and handled and plain.rps:
            share = handled.rps / plain.rps
            lines.append(
                f"- c={top_c}: a pass-through handler {handled.rps:,.0f} req/s = {share:.0%} of the tensor "
                f"path's {plain.rps:,.0f} (issue 13: >= 90%): {_verdict(share >= 0.90)}"
            )
    if model == "image-classifier" and mine:
        top = mine.at(top_c)
        rivals = [(r.label, r.at(top_c)) for key in ("litserve", "bentoml") if (r := by_key.get(key))]
        measured = [(label, point) for label, point in rivals if point and point.rps]
        if top and measured:
            label, best = max(measured, key=lambda item: item[1].rps)
            ratio = top.rps / best.rps
            lines.append(
                f"- c={top_c}: {ratio:.2f}x the better of LitServe and BentoML ({label}, {best.rps:,.0f} req/s), "
                f"p99 {top.p99_ms:.1f} vs {best.p99_ms:.1f} ms (issue 13: >= 1.5x and lower p99): "
                f"{_verdict(ratio >= 1.5 and top.p99_ms < best.p99_ms)}"
            )
    if model not in ("digits", "image-classifier") and ceilings:
        best = ceilings.get("best", {})
        # (server, precision, what it is, its target share of the fair ceiling)
        for key, precision, what, goal in (
            ("liftoff-binary", "fp32", "FP32, binary tensors", 0.95),
            ("liftoff-bf16", "bf16", "bfloat16, binary tensors", 0.90),
            ("liftoff", "fp32", "FP32, base64 JSON", 0.85),
            ("liftoff-bf16-json", "bf16", "bfloat16, base64 JSON", 0.85),
        ):
            served = by_key[key].at(top_c) if key in by_key else None
            ceiling = best.get(precision)
            if served and ceiling:
                lines.append(_share_line(what, served.rps, ceiling, goal, top_c))
    return lines


def gap_sections(runs: list[ServerRun]) -> list[str]:
    """Per profiled row, where its time went (bench/gap_profile.py), or why there is no profile."""
    out: list[str] = []
    for run in runs:
        if run.gap_failure:
            out += ["", f"Where the time goes, {run.label}: no profile ({run.gap_failure})"]
        elif run.gap:
            out += [
                "",
                f"Where the time goes, {run.label}, c={run.gap_concurrency} (py-spy, the same server after "
                "its points):",
                "",
                *gap_profile.table(run.gap.get("cpu", {}), run.gap.get("inference", {})),
            ]
    return out


def render(
    header: list[str], ceilings: dict[str, dict[str, Any]], runs: list[ServerRun], concurrencies: list[int]
) -> str:
    out = [
        *header,
        "",
        "### Fair forward-pass ceilings (the model alone, no server, same run)",
        "",
        "Every layout of processes x threads, the processes of a layout measuring side by side (summed);",
        "per layout the best configuration of each precision (batch size, as loaded or as Liftoff optimises it).",
        "",
        "| model | layout | best FP32 samples/s | best bfloat16 samples/s |",
        "|---|---|---:|---:|",
    ]
    for model, result in ceilings.items():
        for layout, configs in result.get("layouts", {}).items():
            cells = []
            for precision in ("fp32", "bf16"):
                mine = {k: v for k, v in configs.items() if k.startswith(precision)}
                top = max(mine, key=lambda k: mine[k]) if mine else None
                cells.append(f"{mine[top]:,.1f} ({top})" if top else "")
            out.append(f"| {model} | {layout} | {cells[0]} | {cells[1]} |")
    for model, result in ceilings.items():
        for precision, best in result.get("best", {}).items():
            out.append(
                f"\n{model} {precision} ceiling: {best['rate']:,.1f} samples/s, {best['layout']}, {best['config']}"
            )
    models = list(dict.fromkeys(r.model for r in runs))
    for model in models:
        model_runs = [r for r in runs if r.model == model]
        out += ["", f"### {model}", "", *_table(model_runs, concurrencies)]
        deployed = [f"- {r.label}: `{' '.join(r.stack)}`" for r in model_runs if r.stack]
        if deployed:
            out += [
                "",
                "A stack deploys each Liftoff row with these settings (besides `liftoff:model`):",
                "",
                *deployed,
            ]
        checks = targets(model, model_runs, ceilings.get(model, {}), max(concurrencies))
        if checks:
            out += ["", "Targets, from this run:", "", *checks]
        out += gap_sections(model_runs)
    return "\n".join(out) + "\n"


def replace_section(path: Path, name: str, body: str, preamble: str) -> None:
    """Write `body` between this section's markers, keeping every other section of the file as it is."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = path.read_text(encoding="utf-8") if path.exists() else preamble
    block = f"{begin}\n{body.rstrip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
