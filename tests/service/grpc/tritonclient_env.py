"""tritonclient.grpc, unchanged, in its own pinned environment: `make venv` (so `make test`) creates
.venv-tritonclient from requirements/tritonclient-grpc.txt, since its stubs need protobuf 6 and the project's
environment holds protobuf 5. Tests run tritonclient_calls.py there, as a subprocess."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
PYTHON = REPO / ".venv-tritonclient" / "bin" / "python"
CALLS = Path(__file__).with_name("tritonclient_calls.py")


def tritonclient_calls(scenario: str, address: str, key: str, inputs: list[Any]) -> dict[str, Any]:
    assert PYTHON.exists(), (
        "no .venv-tritonclient: `make venv` creates it from requirements/tritonclient-grpc.txt"
    )
    done = subprocess.run(
        [str(PYTHON), str(CALLS), scenario, address, key, json.dumps(inputs)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer
