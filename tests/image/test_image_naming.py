"""`make image` names the image after the model and takes the model directory from anywhere, as its only
model context; docs/image.md's `docker run` line runs it as the tests and the deploy do."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def dry_run(variant: str, model_dir: Path | None = None) -> str:
    env = {**os.environ, "DRY_RUN": "1", "MODEL_DIR": str(model_dir or "")}
    done = subprocess.run(
        ["scripts/image-build.sh", variant], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_image_is_named_after_the_bundled_model_by_default() -> None:
    assert "--tag liftoff-digits:1-cpu " in dry_run("cpu")


def test_a_model_directory_outside_the_project_through_a_symlink_is_the_only_model_context(
    tmp_path: Path,
) -> None:
    real = tmp_path / "elsewhere" / "mine"
    real.mkdir(parents=True)
    (real / "model.json").write_text(json.dumps({"name": "Sentiment_v2", "version": "7"}))
    (tmp_path / "link").symlink_to(real)
    command = dry_run("cuda", tmp_path / "link")
    assert "--tag liftoff-sentiment_v2:7-cuda " in command
    assert re.findall(r"--build-context (\S+)", command) == [f"model={real}"]
    assert command.endswith(" .")  # the project, for the Dockerfile and service/


def test_the_docs_docker_run_line_runs_it_as_the_image_tests_do() -> None:
    docs = (ROOT / "docs" / "image.md").read_text(encoding="utf-8")
    line = re.search(r"docker run [^\n]*\\\n[^\n]*", docs)
    assert line is not None
    run = line.group(0)
    checker = (ROOT / "tests" / "image" / "check_image.py").read_text(encoding="utf-8")
    for flag in ("--read-only", "--tmpfs /tmp", "--cap-drop ALL", "--security-opt no-new-privileges"):
        assert flag in run
        assert flag.replace(" ", '", "') in checker  # the same flag in check_image.py's docker run
    assert "--user 10001:10001" in run
