"""A name means one thing across the project: "edge" is Traefik in infra, so no server class is called so."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2] / "service"


def test_no_server_class_is_named_after_the_edge() -> None:
    named = [
        f"{path.relative_to(SERVICE.parent)}: {node.name}"
        for path in SERVICE.rglob("*.py")
        if "generated" not in path.parts
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and "edge" in node.name.lower()
    ]
    assert not named, named
