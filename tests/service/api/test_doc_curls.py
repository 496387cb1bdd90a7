"""Every curl line the README and docs/ show against a local server, run as written (the port aside) against a
real `python -m service` serving the default digits model: each answers 200 with JSON."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.service.live import REPO, start_server

pytestmark = pytest.mark.slow
DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
LOCAL = re.compile(r"(?:http://)?(?:localhost|127\.0\.0\.1):8080")
NOT_DIGITS = {
    # A user's own image model, with the user's own file: docs/your-model.md's walk-through.
    "curl --data-binary @cat.png -H 'content-type: image/png' http://127.0.0.1:8080/predict",
}
"""Lines for another model than the default one. Listed by hand, so a new curl line is run unless it is
added here on purpose."""


def curl_commands(text: str) -> list[str]:
    """Whole curl commands: from a line starting `curl ` to where its quotes close and no `\\` continues."""
    commands: list[str] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        if not lines[index].strip().startswith("curl "):
            index += 1
            continue
        command = lines[index].strip()
        while _open(command) and index + 1 < len(lines):
            index += 1
            command = command.removesuffix("\\").rstrip() + "\n" + lines[index]
        commands.append(command)
        index += 1
    return commands


def _open(command: str) -> bool:
    if command.endswith("\\"):
        return True
    try:
        shlex.split(command, comments=True)
    except ValueError:  # an unclosed quote: the command goes on
        return True
    return False


def local_commands() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for command in curl_commands(doc.read_text()):
            if LOCAL.search(command):
                found.append((str(doc.relative_to(REPO)), command))
    return found


def test_the_docs_hold_the_curl_lines_this_test_runs() -> None:
    commands = [command for _, command in local_commands()]
    assert len(commands) >= 5
    assert set(commands) >= NOT_DIGITS, "a listed exception is no longer in the docs: drop it from NOT_DIGITS"


def test_every_local_curl_line_in_the_docs_answers_200_json(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    results = []
    try:
        for doc, command in local_commands():
            if command in NOT_DIGITS:
                continue
            local = LOCAL.sub(f"http://127.0.0.1:{server.port}", command)
            done = subprocess.run(
                [*shlex.split(local, comments=True), "--write-out", "\n%{http_code}"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            body, _, status = done.stdout.rpartition("\n")
            results.append((doc, command, done.returncode, status, body))
    finally:
        server.stop()
    failures = [result for result in results if result[2] != 0 or result[3] != "200"]
    assert not failures, failures
    for doc, command, _, _, body in results:
        assert isinstance(json.loads(body), dict), (doc, command, body)
