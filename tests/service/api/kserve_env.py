"""KServe's Python SDK, unchanged, in its own pinned environment: `make venv` (so `make test`) creates
.venv-kserve from requirements/kserve.txt, since kserve pins its own FastAPI and protobuf 6. Tests run
kserve_calls.py there, as a subprocess."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
PYTHON = REPO / ".venv-kserve" / "bin" / "python"
CALLS = Path(__file__).with_name("kserve_calls.py")


def kserve_calls(scenario: str, url: str, address: str, model: str, inputs: list[Any]) -> dict[str, Any]:
    assert PYTHON.exists(), "no .venv-kserve: `make venv` creates it from requirements/kserve.txt"
    done = subprocess.run(
        [str(PYTHON), str(CALLS), scenario, url, address, model, json.dumps(inputs)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer
