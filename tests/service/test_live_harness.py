"""One way for tests to start a real server and wait for it, and one way to pick a port: a fix to either
(a slower readiness, a port race) then reaches every test."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
HARNESS = TESTS / "service" / "live.py"


def sources() -> dict[Path, str]:
    return {path: path.read_text() for path in TESTS.rglob("*.py") if path != Path(__file__).resolve()}


def test_no_test_defines_its_own_free_port() -> None:
    own = [
        str(path.relative_to(TESTS))
        for path, text in sources().items()
        if re.search(r"def _?free_port\(", text)
    ]
    assert not own, f"use tests/service/live.py's free_port (lab/ports.py) instead of: {own}"


def test_only_the_harness_starts_python_m_service_and_polls_readiness() -> None:
    starters = [
        str(path.relative_to(TESTS))
        for path, text in sources().items()
        if '"-m", "service"]' in text and "Popen" in text and "/readyz" in text and path != HARNESS
    ]
    assert not starters, f"start the server with tests/service/live.py's start_server instead: {starters}"
