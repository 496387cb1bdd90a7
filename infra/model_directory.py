"""`liftoff:model`: a model directory in the user's checkout (docs/your-model.md), built into the image.

The program reads only its `model.json`, for the name the model answers to; the directory itself goes to
the image build as the named build context `model` (Dockerfile).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from infra.config_keys import SettingsError

REPO_ROOT = Path(__file__).resolve().parents[1]
KEY = "liftoff:model"
# What the server accepts as a model name (service/model/metadata.py), also a DNS label's characters.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def resolve(relative: str) -> Path:
    """The directory, or a SettingsError naming the key and what is allowed."""
    path = (REPO_ROOT / relative).resolve()
    allowed = "allowed: a directory inside the project holding model.json (python -m service init-model DIR)"
    if not path.is_relative_to(REPO_ROOT):
        raise SettingsError(KEY, f"{relative!r} is outside the project; {allowed}")
    if not (path / "model.json").is_file():
        raise SettingsError(KEY, f"{relative!r} has no model.json; {allowed}")
    return path


def model_name(relative: str) -> str:
    """The `name` in the directory's model.json."""
    path = resolve(relative) / "model.json"
    try:
        name = json.loads(path.read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        name = None
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise SettingsError(
            KEY, f"{relative}/model.json has no valid name; allowed: letters, digits, '_', '.', '-'"
        )
    return name


def pins() -> dict[str, Version]:
    """The project's pins (requirements/constraints.txt, the lock the image installs under)."""
    found: dict[str, Version] = {}
    for line in (REPO_ROOT / "requirements" / "constraints.txt").read_text(encoding="utf-8").splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and not line.startswith((" ", "#")):
            found[canonicalize_name(name)] = Version(version)
    return found


def check_requirements(relative: str) -> None:
    """Each line of the directory's requirements.txt must allow the project's pin of its package: the image
    build would fail on it later, and with a longer message (the Dockerfile's model-deps stage)."""
    path = resolve(relative) / "requirements.txt"
    if not path.is_file():
        return
    pinned = pins()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{relative}/requirements.txt line {number} ({line!r})"
        if line.startswith("-"):
            raise SettingsError(KEY, f"{where} is a pip option; allowed: one requirement a line, no options")
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            raise SettingsError(
                KEY, f"{where} is not a requirement; allowed: name[extras] and versions"
            ) from None
        pin = pinned.get(canonicalize_name(requirement.name))
        if pin is not None and not requirement.specifier.contains(pin, prereleases=True):
            raise SettingsError(
                KEY,
                f"{where} conflicts with the project's pin {requirement.name}=={pin} "
                "(requirements/constraints.txt); allowed: a range that includes it, or no version",
            )


def fingerprint(relative: str) -> str:
    """12 hex digits over every file of the directory (model files are often git-ignored, so git cannot say)."""
    root = resolve(relative)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(file.relative_to(root).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:12]
