"""`make bench-profile`'s summary of py-spy's raw stacks, including samples of a thread with no Python frame."""

from __future__ import annotations

from pathlib import Path

from bench.profile import summarise

HEAD = 'process 7:"python -m service";thread (9): MainThread'


def test_a_sample_with_no_python_frame_is_counted_under_its_own_name(tmp_path: Path) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text(
        f"{HEAD};Runner.run (runners.py:118);parse_json (common.py:83) 3\n"
        f"{HEAD} 1\n"  # py-spy caught the thread in native code: process and thread, no function
    )
    summary = summarise(raw, 5)
    assert summary.splitlines()[0] == "4 samples"
    assert "75.0%  parse_json (common.py:83)" in summary
    assert "25.0%  (no Python frame: a thread in native code)" in summary
