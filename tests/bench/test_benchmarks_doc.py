"""The benchmark's report: targets are judged from the run's own figures, and rewriting one section of
docs/benchmarks.md leaves the rest of the file alone."""

from __future__ import annotations

from pathlib import Path

from bench.benchmarks_doc import ServerRun, render, replace_section, targets
from bench.loadgen import LoadResult


def point(c: int, rps: float, p99: float) -> LoadResult:
    return LoadResult(
        concurrency=c,
        requests=int(rps * 10),
        seconds=10.0,
        errors=0,
        p50_ms=p99 / 3,
        p90_ms=p99 / 2,
        p99_ms=p99,
        max_ms=p99 * 2,
    )


def run(key: str, *points: LoadResult, start_s: float = 1.0, worker_rss_mib: float = 200.0) -> ServerRun:
    return ServerRun(
        "digits",
        key,
        key,
        start_s=start_s,
        peak_mib=100.0,
        worker_rss_mib=worker_rss_mib,
        worker_pss_mib=worker_rss_mib / 2,
        tree_pss_mib=worker_rss_mib,
        workers=2,
        points=list(points),
    )


def test_digits_targets_are_met_only_by_the_figures_that_meet_them() -> None:
    runs = [
        run("liftoff", point(1, 1500, 2), point(64, 6000, 40), start_s=2.0),
        run("fastapi-1", point(1, 1000, 3), point(64, 1000, 150)),
        run("torchserve", point(1, 100, 20), point(64, 2900, 45)),
    ]
    lines = "\n".join(targets("digits", runs, {}, 64))
    assert "6.00x the naive baseline" in lines and "met" in lines.splitlines()[0]
    assert "2.07x TorchServe with batching (2,900 req/s)" in lines
    assert "MISSED" not in lines

    slower = [
        run("liftoff", point(1, 900, 2), point(64, 5500, 50), start_s=4.0, worker_rss_mib=290.0),
        *runs[1:],
    ]
    verdicts = targets("digits", slower, {}, 64)
    assert [line.endswith("met") for line in verdicts] == [True, False, False, False, False]


def test_one_digits_worker_is_held_to_300_megabytes_resident() -> None:
    base = [run("fastapi-1", point(64, 1000, 150))]
    (within,) = [
        line
        for line in targets("digits", [run("liftoff", worker_rss_mib=286.0), *base], {}, 64)
        if "worker" in line
    ]
    assert within == (
        "- one worker's peak memory: RSS 300 MB, PSS 150 MB (2 workers, 300 MB PSS in all) "
        "(issue 22: RSS at most 300 MB): met"
    )
    (over,) = [
        line
        for line in targets("digits", [run("liftoff", worker_rss_mib=287.0), *base], {}, 64)
        if "worker" in line
    ]
    assert over.endswith("MISSED")


def test_image_targets_compare_with_the_fair_ceilings_of_the_same_run() -> None:
    runs = [
        ServerRun("resnet18", "liftoff", "Liftoff", points=[point(64, 52, 900)]),
        ServerRun("resnet18", "liftoff-binary", "Liftoff, binary", points=[point(64, 58, 800)]),
        ServerRun("resnet18", "liftoff-bf16", "Liftoff, bf16", points=[point(64, 100, 800)]),
        ServerRun("resnet18", "liftoff-bf16-json", "Liftoff, bf16, JSON", points=[point(64, 130, 900)]),
    ]
    best = {
        "fp32": {"rate": 60.0, "layout": "2 processes x 1 thread", "config": "fp32 batch 8"},
        "bf16": {
            "rate": 150.0,
            "layout": "1 process x 2 threads",
            "config": "bf16 weights channels-last batch 32",
        },
    }
    lines = targets("resnet18", runs, {"best": best}, 64)
    assert lines == [
        "- FP32, binary tensors at c=64: 58.0 images/s = 97% of the fair ceiling 60.0 "
        "(2 processes x 1 thread, fp32 batch 8) (issue 22: >= 95%): met",
        "- bfloat16, binary tensors at c=64: 100.0 images/s = 67% of the fair ceiling 150.0 "
        "(1 process x 2 threads, bf16 weights channels-last batch 32) (issue 22: >= 90%): MISSED",
        "- FP32, base64 JSON at c=64: 52.0 images/s = 87% of the fair ceiling 60.0 "
        "(2 processes x 1 thread, fp32 batch 8) (issue 22: >= 85%): met",
        "- bfloat16, base64 JSON at c=64: 130.0 images/s = 87% of the fair ceiling 150.0 "
        "(1 process x 2 threads, bf16 weights channels-last batch 32) (issue 22: >= 85%): met",
    ]


def test_a_share_above_the_ceiling_is_reported_as_a_bug_in_the_ceiling() -> None:
    runs = [ServerRun("resnet18", "liftoff-binary", "Liftoff, binary", points=[point(64, 62, 800)])]
    best = {"fp32": {"rate": 60.0, "layout": "1 process x 2 threads", "config": "fp32 batch 8"}}
    (line,) = targets("resnet18", runs, {"best": best}, 64)
    assert "103%" in line and line.endswith("a bug in the ceiling, not a result")
    assert "met" not in line


def test_a_failed_server_is_reported_not_dropped() -> None:
    failed = ServerRun("digits", "torchserve", "TorchServe", failure="not ready after 180 s")
    text = render(["# run"], {}, [run("fastapi-1", point(1, 10, 1)), failed], [1])
    assert "| TorchServe | | failed: not ready after 180 s |" in text


def test_rewriting_one_section_keeps_the_others(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    replace_section(doc, "cpu", "first cpu run", "# Benchmarks\n")
    replace_section(doc, "gpu", "gpu run", "# Benchmarks\n")
    doc.write_text(doc.read_text() + "\nA note a person wrote.\n")
    replace_section(doc, "cpu", "second cpu run", "# Benchmarks\n")
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n")
    assert "second cpu run" in text and "first cpu run" not in text
    assert "gpu run" in text and "A note a person wrote." in text


def test_the_handler_targets_are_judged_from_the_same_run() -> None:
    image = [
        ServerRun("image-classifier", "liftoff", "Liftoff", points=[point(64, 1600, 40)]),
        ServerRun("image-classifier", "litserve", "LitServe", points=[point(64, 1000, 50)]),
        ServerRun("image-classifier", "bentoml", "BentoML", points=[point(64, 100, 900)]),
    ]
    assert targets("image-classifier", image, {}, 64) == [
        "- c=64: 1.60x the better of LitServe and BentoML (LitServe, 1,000 req/s), p99 40.0 vs 50.0 ms "
        "(issue 13: >= 1.5x and lower p99): met"
    ]
    slower = [ServerRun("image-classifier", "liftoff", "Liftoff", points=[point(64, 1400, 40)]), *image[1:]]
    assert targets("image-classifier", slower, {}, 64)[0].endswith("MISSED")

    digits = [run("liftoff", point(64, 6000, 40)), run("liftoff-handler", point(64, 5500, 42))]
    handler_line = targets("digits", digits, {}, 64)[-1]
    assert (
        "a pass-through handler 5,500 req/s = 92% of the tensor path's 6,000 (issue 13: >= 90%)"
        in handler_line
    )
    assert handler_line.endswith("met")
    costly = [digits[0], run("liftoff-handler", point(64, 5300, 42))]
    assert targets("digits", costly, {}, 64)[-1].endswith("MISSED")


def test_rounds_are_reported_by_each_points_median_round() -> None:
    from bench.__main__ import median_run

    rounds = [
        run("liftoff", point(1, 100, 5), point(64, 900, 40), start_s=3.0),
        run("liftoff", point(1, 300, 5), point(64, 500, 40), start_s=1.0),
        run("liftoff", point(1, 200, 5), point(64, 700, 40), start_s=2.0),
    ]
    for index, r in enumerate(rounds):
        r.cpu_ms = {1: float(index), 64: float(index)}
    merged = median_run(rounds)
    assert [round(p.rps) for p in merged.points] == [200, 700]
    assert merged.cpu_ms == {1: 2.0, 64: 2.0} and merged.start_s == 2.0
    failed = ServerRun("digits", "liftoff", "Liftoff", failure="exited with 1")
    assert median_run([failed, rounds[0]]).points == rounds[0].points
    assert median_run([failed]).failure == "exited with 1"


def test_c64_serving_fewer_than_c32_is_reported_with_what_tells_the_causes_apart() -> None:
    mine = run("liftoff", point(32, 9410, 8), point(64, 7092, 19))
    mine.cpu_ms, mine.loadgen_cores = {32: 0.18, 64: 0.24}, {32: 0.05, 64: 0.06}
    (line,) = [line for line in targets("digits", [mine], {}, 64) if "against c=32" in line]
    assert line == (
        "- c=64 against c=32: 75% (c=64 7,092 req/s, 0 errors, 0.24 CPU ms/req, wrk 0.06 cores; "
        "c=32 9,410 req/s, 0 errors, 0.18 CPU ms/req, wrk 0.05 cores) "
        "(issue 22: no fewer req/s at c=64, within 5%): MISSED"
    )
    level = run("liftoff", point(32, 9410, 8), point(64, 9000, 19))
    (line,) = [line for line in targets("digits", [level], {}, 64) if "against c=32" in line]
    assert line.endswith(": met")
