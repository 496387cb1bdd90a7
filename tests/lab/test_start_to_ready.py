"""`python -m lab.start_to_ready`: times fresh server processes to ready and leaves none running."""

from __future__ import annotations

import re
from pathlib import Path

import psutil
import pytest

from lab import start_to_ready


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_it_times_two_fresh_starts_and_prints_min_median_max(capsys: pytest.CaptureFixture[str]) -> None:
    children_before = {p.pid for p in psutil.Process().children(recursive=True)}

    assert start_to_ready.main(["--runs", "2"]) == 0

    out = capsys.readouterr().out
    runs = [float(s) for s in re.findall(r"run \d: (\d+\.\d+) s", out)]
    assert len(runs) == 2 and all(0 < s < 120 for s in runs), out
    summary = re.search(r"min (\d+\.\d+) s, median (\d+\.\d+) s, max (\d+\.\d+) s", out)
    assert summary is not None, out
    assert [float(g) for g in summary.groups()] == pytest.approx(
        [min(runs), sum(runs) / 2, max(runs)], abs=0.01
    )
    assert "load average before" in out and "load average after" in out
    left = {p.pid for p in psutil.Process().children(recursive=True)} - children_before
    assert not left, f"server processes left running: {left}"


def test_a_missing_model_or_no_runs_is_refused_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert start_to_ready.main(["--model", str(tmp_path / "absent")]) == 2
    assert "no model at" in capsys.readouterr().err
    assert start_to_ready.main(["--runs", "0"]) == 2
    assert "--runs must be at least 1" in capsys.readouterr().err
