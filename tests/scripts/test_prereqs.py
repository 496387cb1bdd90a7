"""scripts/test-prereqs.sh: `make test` sets up, or names, every program its tests need before any test runs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREREQS = ROOT / "scripts" / "test-prereqs.sh"
PROGRAMS = ("haproxy", "node", "npm", "prometheus", "java")


def check(path: Path) -> subprocess.CompletedProcess[str]:
    """--check never installs, so the answer depends only on the PATH given (and no system folder)."""
    env = {**os.environ, "PATH": str(path), "TEST_PREREQS_SBIN": ""}
    return subprocess.run(
        ["/bin/bash", str(PREREQS), "--check"], env=env, capture_output=True, text=True, timeout=30
    )


def test_a_machine_without_them_is_told_each_program_and_both_install_commands(tmp_path: Path) -> None:
    result = check(tmp_path)
    assert result.returncode == 1
    for program in PROGRAMS:
        assert f"  {program}: for " in result.stderr
    assert (
        "Debian/Ubuntu: sudo apt-get install -y --no-install-recommends haproxy nodejs npm prometheus "
        "openjdk-17-jre-headless" in result.stderr
    )
    # npm comes with Homebrew's node: one formula, named once.
    assert "macOS:         brew install haproxy node prometheus openjdk@17\n" in result.stderr


def test_only_what_is_missing_is_named(tmp_path: Path) -> None:
    for program in ("node", "npm", "prometheus", "java"):
        fake = tmp_path / program
        fake.write_text("#!/bin/sh\n")
        fake.chmod(0o755)
    result = check(tmp_path)
    assert result.returncode == 1
    assert "haproxy: for" in result.stderr
    assert "node: for" not in result.stderr
    assert "apt-get install -y --no-install-recommends haproxy\n" in result.stderr


def test_a_machine_with_them_passes_silently(tmp_path: Path) -> None:
    for program in PROGRAMS:
        fake = tmp_path / program
        fake.write_text("#!/bin/sh\n")
        fake.chmod(0o755)
    result = check(tmp_path)
    assert (result.returncode, result.stderr) == (0, "")


def test_make_test_sets_them_up_before_the_environment_and_the_tests() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "\ntest: test-prereqs venv $(MODEL) " in makefile


def test_ci_installs_nothing_itself() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "apt-get" not in ci
    assert "\nmake test\n" in ci
    assert "make newcomer" in ci
