"""`liftoff:model`: a model directory (docs/your-model.md), anywhere on disk, built into the image.

Before anything is built, the directory must pass the model check the server runs at start-up
(`python -m service check`, service/model/check.py); the directory itself goes to the image build as the
named build context `model` (Dockerfile), and nothing else of the user's disk does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from infra.config_keys import SettingsError
from service.torchserve.archive import ArchiveImportError, imported_copy, is_archive

REPO_ROOT = Path(__file__).resolve().parents[1]
KEY = "liftoff:model"
IMPORTED = REPO_ROOT / "out" / "imported"
"""Where a TorchServe archive named by `liftoff:model` is imported to, by its contents (docs/from-torchserve.md)."""
# What the server accepts as a model name (service/model/metadata.py), also a DNS label's characters.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


ALLOWED = (
    "allowed: a directory holding model.json, as an absolute path or relative to the project, a symlink "
    "or not (python -m service init-model DIR writes one), or a TorchServe .mar"
)


def resolve(setting: str) -> Path:
    """The directory, wherever it is (symlinks followed), or a SettingsError naming the key and what is
    allowed."""
    path = Path(setting).expanduser()
    path = (path if path.is_absolute() else REPO_ROOT / path).resolve()
    if not (path / "model.json").is_file() and is_archive(path):
        try:  # a TorchServe archive, imported as `python -m service import-torchserve` would
            path = imported_copy(path, IMPORTED)
        except ArchiveImportError as exc:
            raise SettingsError(
                KEY, f"{setting!r} is a TorchServe archive that cannot be imported: {exc}"
            ) from None
    if not (path / "model.json").is_file():
        raise SettingsError(KEY, f"{setting!r} has no model.json; {ALLOWED}")
    return path


def build_context(setting: str) -> str:
    """What the image build gets as its `model` context: relative to the project when inside it (plans
    stay alike across machines), else the absolute path."""
    path = resolve(setting)
    return path.relative_to(REPO_ROOT).as_posix() if path.is_relative_to(REPO_ROOT) else str(path)


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


def local_weights(setting: str) -> Path | None:
    """The folder model.json's `weights` names inside the directory, which the image never holds."""
    try:
        weights = json.loads((resolve(setting) / "model.json").read_text(encoding="utf-8")).get("weights")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(weights, str) or "://" in weights:
        return None
    return (resolve(setting) / weights).resolve()


def fingerprint(relative: str) -> str:
    """12 hex digits over every file of the directory that goes into the image (model files are often
    git-ignored, so git cannot say); a local weights folder is not among them."""
    root = resolve(relative)
    weights = local_weights(relative)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        if weights is not None and file.resolve().is_relative_to(weights):
            continue
        digest.update(file.relative_to(root).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:12]


CHECK_TIMEOUT_S = 600


def check_serves(setting: str) -> None:
    """The server's own model check on the directory (`python -m service check`, on the CPU), before
    anything is built: a SettingsError with its reason, which names the file, line or model.json field."""
    _check(str(resolve(setting)), fingerprint(setting))


@cache
def _check(path: str, _fingerprint: str) -> None:
    # A process of its own: the check imports the user's handler and torch, which the program need not
    # hold afterwards. LIFTOFF_* variables of this shell are not the pod's, so none are passed on.
    env = {key: value for key, value in os.environ.items() if not key.startswith("LIFTOFF_")}
    env.update(LIFTOFF_DEVICE="cpu", LIFTOFF_LOG_LEVEL="error", PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "service", "check", path],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=CHECK_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = (
            lines[-1].removeprefix(f"check: {path} would not serve: ") if lines else f"exit {done.returncode}"
        )
        hint = ""
        if "No module named" in reason and (Path(path) / "requirements.txt").is_file():
            hint = (
                " (the check runs in this environment: install the directory's requirements.txt here, "
                "or run `make check MODEL_DIR=...`, which builds an environment like the image's)"
            )
        raise SettingsError(KEY, f"{path} would not serve: {reason}{hint}")
