"""The fair ceiling covers every layout a server could use and sums processes that run side by side."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.fair_ceiling import best_of, layouts, run_layout

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "models" / "digits" / "model.pt"


def test_every_layout_of_processes_and_threads_up_to_the_cores_is_measured() -> None:
    assert layouts(2) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert len(layouts(4)) == 16


def test_the_best_is_taken_per_precision_with_the_layout_that_reached_it() -> None:
    best = best_of(
        {
            "1 process x 2 threads": {"fp32 batch 8": 50.7, "bf16 weights batch 8": 80.0},
            "2 processes x 1 thread": {"fp32 batch 8": 59.7, "bf16 weights batch 8": 70.0},
        }
    )
    assert best["fp32"] == {"rate": 59.7, "layout": "2 processes x 1 thread", "config": "fp32 batch 8"}
    assert best["bf16"]["layout"] == "1 process x 2 threads"


def test_each_layout_runs_the_real_ceiling_and_reports_every_configuration() -> None:
    one = run_layout(sys.executable, DIGITS, ["--batches", "32"], 0.3, 1, 1, ROOT)
    two = run_layout(sys.executable, DIGITS, ["--batches", "32"], 0.3, 2, 1, ROOT)
    assert set(one) == set(two) == {"fp32 batch 32", "fp32 as Liftoff optimises it, batch 32"}
    assert all(value > 0 for value in (*one.values(), *two.values()))


FAKE_CEILING = """#!/bin/sh
# Stands in for `python -m bench.forward_ceiling --synchronised`: warm, wait for the start, report.
echo warm
read -r go
echo "$go" >> "$GO_LOG"
echo '{"configs": {"fp32 batch 32": 1.5, "bf16 weights batch 32": 4.0}}'
"""


def test_processes_start_at_one_moment_and_their_rates_are_summed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a stand-in that reports fixed rates, what the layout adds up is exact, so no timing is asserted."""
    fake = tmp_path / "python"
    fake.write_text(FAKE_CEILING)
    fake.chmod(0o755)
    monkeypatch.setenv("GO_LOG", str(tmp_path / "go.log"))
    summed = run_layout(str(fake), DIGITS, [], 0.3, 3, 1, ROOT)
    assert summed == {"fp32 batch 32": 4.5, "bf16 weights batch 32": 12.0}
    starts = (tmp_path / "go.log").read_text().splitlines()
    assert len(starts) == 3 and len(set(starts)) == 1, f"the processes were not given one start: {starts}"
