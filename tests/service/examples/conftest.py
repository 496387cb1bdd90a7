"""Each example trained once per test session into a copy of its directory (seeded, no download)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def trained_copy(name: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp(name) / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("model.pt", "__pycache__"))
    done = subprocess.run(
        [sys.executable, str(target / "train.py"), "--out", str(target)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    accuracy = float(done.stdout.split("held-out accuracy")[1])
    assert accuracy >= 0.9
    return target


@pytest.fixture(scope="session")
def image_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_copy("image-classifier", tmp_path_factory)


@pytest.fixture(scope="session")
def text_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_copy("text-classifier", tmp_path_factory)
