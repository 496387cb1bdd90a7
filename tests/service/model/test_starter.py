"""`python -m service init-model` writes a directory that serves as it is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from service.model.starter import write_starter
from service.settings import Settings

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[3]


def init_model(target: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "service", "init-model", str(target)]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)


def test_init_model_writes_the_starter_files_once(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    done = init_model(target)
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in target.iterdir()) == ["handler.py", "model.json", "requirements.txt"]
    again = init_model(target)
    assert again.returncode == 2 and "exists already" in again.stderr


async def test_the_starter_directory_serves_text(serve, tmp_path: Path) -> None:
    target = tmp_path / "mine"
    write_starter(target)
    async with serve(Settings(model_path=target)) as client:
        short = await client.post("/predict", content="hi", headers={"content-type": "text/plain"})
        empty = await client.post("/predict", json={"instances": [""]})
    prediction = short.json()["predictions"][0]
    assert prediction["label"] == "negative" and 0 < prediction["score"] < 0.5
    assert empty.status_code == 400 and empty.json() == {"error": "text must not be empty"}
