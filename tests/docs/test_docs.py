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


def linked_pages(page: Path) -> set[Path]:
    targets = (m.group(1) for m in LINK.finditer(page.read_text()))
    return {(page.parent / t).resolve() for t in targets if "://" not in t and t.endswith(".md")}


def test_the_readme_reaches_every_page() -> None:
    """Following links from the README reaches every page: none is written and then lost."""
    seen, todo = {ROOT / "README.md"}, [ROOT / "README.md"]
    while todo:
        for target in linked_pages(todo.pop()) - seen:
            if target.exists():
                seen.add(target)
                todo.append(target)
    lost = [str(p.relative_to(ROOT)) for p in PAGES if p.resolve() not in seen]
    assert not lost, f"no link from the README leads to {lost}"


# What a user reads from a laptop to a deployed model: the README, the model directory, the server, one
# cloud's way in, its preflight and cost, the image, what performance to expect. Measurements and issue logs
# live under docs/notes/ and benchmarks.md is generated, so neither counts.
USER_PATH = [
    "README.md",
    *(
        f"docs/{name}.md"
        for name in ("your-model", "server", "deploy/README", "preflight", "costs", "image", "performance")
    ),
]
CLOUD_PAGES = ["docs/deploy/aws.md", "docs/deploy/gcp.md", "docs/deploy/azure.md", "docs/deploy/dev.md"]


def test_what_a_user_reads_stays_under_60_kb() -> None:
    read = sum(len((ROOT / page).read_bytes()) for page in USER_PATH)
    read += max(len((ROOT / page).read_bytes()) for page in CLOUD_PAGES)
    assert read <= 60 * 1024, (
        f"a user's path through the docs is {read} bytes; move measurements to docs/notes/"
    )


def test_one_page_per_concern_the_server_contract_is_part_of_server_md() -> None:
    assert not (ROOT / "docs" / "service-contract.md").exists()
    server = (ROOT / "docs" / "server.md").read_text()
    for section in ("## Settings", "## HTTP", "## Metrics"):
        assert f"\n{section}\n" in server, f"docs/server.md has no {section} section"
