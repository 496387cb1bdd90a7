"""scripts/newcomer.sh reads the README's first screen: its two commands, its curl, its prerequisites."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NEWCOMER = ROOT / "scripts" / "newcomer.sh"


def first_screen() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme[: readme.index("\n## ")]


def test_it_runs_the_two_commands_and_the_curl_the_readme_shows() -> None:
    result = subprocess.run(
        [str(NEWCOMER), "--print-commands"], capture_output=True, text=True, timeout=30, check=True
    )
    serve, test, curl = result.stdout.splitlines()
    assert (serve, test) == ("make serve", "make test")
    assert curl.startswith("curl -s localhost:8080/predict ")
    # The curl block's continuation lines are joined into one command.
    assert '"instances": [[' in curl and "\\" not in curl


def test_the_container_holds_only_what_the_first_screen_names() -> None:
    packages = re.search(r"NEWCOMER_PACKAGES:-([^}]*)\}", NEWCOMER.read_text())
    assert packages
    screen = first_screen()
    for program in packages.group(1).split():
        assert f"`{program}`" in screen, f"the README's first screen does not name {program}"
    assert "Python 3.11+" in screen and "python3-venv" in screen
    # What make test installs itself (tests/scripts/test_prereqs.py) is named too.
    assert "HAProxy" in screen and "Node.js" in screen
