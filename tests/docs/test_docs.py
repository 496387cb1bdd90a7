"""The README is a way in and docs/ holds the rest: every relative link in them leads somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    targets = [m.group(1) for m in LINK.finditer(page.read_text())]
    broken = [t for t in targets if "://" not in t and not (page.parent / t).exists()]
    assert not broken, f"{page.relative_to(ROOT)} links to missing files: {broken}"


def test_the_readme_fits_a_first_visit() -> None:
    readme = (ROOT / "README.md").read_text()
    # What Liftoff is, the two commands, deploying, links: a few screens, not a manual.
    assert len(readme.splitlines()) <= 60
    for page in ("docs/architecture.md", "docs/deploy/README.md", "docs/server.md", "docs/lab.md"):
        assert f"]({page})" in readme, f"the README does not link {page}"
