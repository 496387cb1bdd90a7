"""The fair ceiling covers every layout a server could use and sums processes that run side by side."""

from __future__ import annotations

import sys
from pathlib import Path

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


def test_two_processes_measure_side_by_side_and_their_rates_are_summed() -> None:
    one = run_layout(sys.executable, DIGITS, ["--batches", "32"], 0.3, 1, 1, ROOT)
    two = run_layout(sys.executable, DIGITS, ["--batches", "32"], 0.3, 2, 1, ROOT)
    assert set(one) == set(two) == {"fp32 batch 32", "fp32 as Liftoff optimises it, batch 32"}
    # Two processes share this machine's cores: their sum is positive and, measured at the same time,
    # cannot be twice one process on its own plus noise unless there are two idle cores.
    assert all(value > 0 for value in two.values())
    assert all(two[name] < 2.5 * one[name] for name in one)
