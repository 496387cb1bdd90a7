"""The laptop matches the pod: `make serve MODEL_DIR=...` and `make check MODEL_DIR=...` run in an environment
built like the image's (scripts/model-venv.sh), the server's runtime dependencies and the model's own."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = "examples/image-classifier"


def test_the_environment_holds_the_runtime_dependencies_and_the_models_never_the_extras() -> None:
    done = subprocess.run(
        ["scripts/model-venv.sh", EXAMPLE],
        cwd=ROOT,
        env={**os.environ, "DRY_RUN": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    runtime, model = done.stdout.split("# model\n")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert runtime.removeprefix("# runtime\n").splitlines() == project["dependencies"]
    assert model.strip() == (ROOT / EXAMPLE / "requirements.txt").read_text().strip()
    extras = {
        req.split(">")[0].split("=")[0].split("<")[0].split(";")[0].strip().lower()
        for group in ("train", "dev")
        for req in project["optional-dependencies"].get(group, [])
    }
    listed = {
        line.split(">")[0].split("=")[0].split("<")[0].split(";")[0].strip().lower()
        for line in done.stdout.splitlines()
        if line and not line.startswith("#")
    }
    assert not (extras - {"pillow"}) & listed, "train or dev extras in the model's environment"


def make_dry_run(*args: str) -> str:
    done = subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout


def test_make_serve_with_a_model_dir_serves_it_from_that_environment() -> None:
    out = make_dry_run("serve", "MODEL_DIR=models/mine")
    assert "scripts/model-venv.sh 'models/mine'" in out
    assert "LIFTOFF_MODEL_PATH='models/mine' exec \"$py\" -m service" in out


def test_make_serve_alone_still_serves_the_digits_model_from_the_project_environment() -> None:
    out = make_dry_run("serve")
    assert "if [ -z '' ]; then .venv/bin/python -m service;" in out


def test_make_check_runs_the_model_check_in_that_environment() -> None:
    out = make_dry_run("check", "MODEL_DIR=/abs/mine")
    assert "scripts/model-venv.sh '/abs/mine'" in out and "-m service check '/abs/mine'" in out
