"""A TorchServe model archive read and written out as a Liftoff model directory.

torch-model-archiver writes a zip (`.mar`, its default), a tarball (`--archive-format tgz`) or a plain folder
(`no-archive`); each holds the model's files flat beside `MAR-INF/MANIFEST.json`, which names the handler,
the serialized model (TorchScript, or the weights of an eager model), the eager model's file and the
requirements. The Liftoff directory keeps those files as they are under `archive/` (the handler's
`model_dir`), and adds what Liftoff reads: model.json (raw bytes in, the handler's answer out, as TorchServe's
inference API), a two-line handler.py that runs the archive's handler, and requirements.txt.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

MANIFEST = "MAR-INF/MANIFEST.json"
ARCHIVE_FOLDER = "archive"
"""Where the archive's files live in the model directory: the `model_dir` its handler is given."""
TORCHSERVE_REQUIREMENT = "torchserve==0.12.0"
"""TorchServe's handler base classes, for handlers that import `ts` (the importer adds it)."""
BUILTIN_HANDLERS = frozenset({"base_handler", "image_classifier", "text_classifier", "object_detector"})
"""TorchServe's default handlers a Liftoff directory can run (each needs what TorchServe needs for it)."""
VISION_BUILTINS = frozenset({"image_classifier", "object_detector"})
UNSUPPORTED_BUILTINS = {
    "vllm_handler": "an LLM engine handler: LLM serving is a separate engine choice, not Liftoff's server",
    "trt_llm_handler": "an LLM engine handler: LLM serving is a separate engine choice, not Liftoff's server",
    "dali_handler": "needs NVIDIA DALI's pipeline files, which Liftoff does not set up",
    "dali_image_classifier": "needs NVIDIA DALI's pipeline files, which Liftoff does not set up",
}
RAW_CONTENT_TYPES = (
    "application/octet-stream",
    "image/jpeg",
    "image/png",
    "text/plain",
)
"""What `/predict` also takes as a raw body for an imported model; `/predictions` takes any type, as
TorchServe does."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

HANDLER_SHIM = '''"""Written by `python -m service import-torchserve`: runs the TorchServe handler of ./{folder}/ unchanged."""

from service.torchserve.handler import TorchServeHandler


class ImportedArchive(TorchServeHandler):
    pass
'''


class ArchiveImportError(ValueError):
    """The archive cannot be carried over; the message names the archive and the entry."""


@dataclass(frozen=True)
class Imported:
    directory: Path
    name: str
    version: str
    batch_size: int | None
    max_batch_delay_ms: float | None
    notes: tuple[str, ...]
    """What the user should know: settings to carry over, requirements added."""


def read_entries(archive: Path) -> dict[str, bytes]:
    """Every file of the archive by its POSIX path inside it; refuses paths that would leave the folder."""
    if archive.is_dir():
        entries = {
            path.relative_to(archive).as_posix(): path.read_bytes()
            for path in sorted(archive.rglob("*"))
            if path.is_file() and not path.is_symlink()
        }
    elif zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            entries = {info.filename: zipped.read(info) for info in zipped.infolist() if not info.is_dir()}
    elif tarfile.is_tarfile(archive):
        entries = {}
        with tarfile.open(archive) as tarred:
            for member in tarred.getmembers():
                if member.isdir():
                    continue
                if not member.isfile():
                    raise ArchiveImportError(
                        f"{archive.name}: entry {member.name!r} is a link or device, which an archive of "
                        "model files never needs; refused"
                    )
                extracted = tarred.extractfile(member)
                assert extracted is not None
                entries[member.name] = extracted.read()
    else:
        raise ArchiveImportError(
            f"{archive}: not a TorchServe model archive (a .mar zip, a tgz, or a folder with {MANIFEST})"
        )
    return {_safe_entry(archive, name): data for name, data in entries.items()}


def _safe_entry(archive: Path, name: str) -> str:
    path = PurePosixPath(name.removeprefix("./"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ArchiveImportError(
            f"{archive.name}: entry {name!r} points outside the archive's folder; refused"
        )
    return path.as_posix()


def manifest_of(archive: Path, entries: dict[str, bytes]) -> dict[str, Any]:
    if MANIFEST not in entries:
        if (
            any(name.endswith(".war") or name.startswith("WAR-INF/") for name in entries)
            or archive.suffix == ".war"
        ):
            raise ArchiveImportError(
                f"{archive.name}: a TorchServe workflow archive; workflows (DAGs of models) are not carried "
                "over: import each model's .mar and chain them in a handler"
            )
        raise ArchiveImportError(f"{archive.name}: no {MANIFEST}, so not a TorchServe model archive")
    try:
        manifest = json.loads(entries[MANIFEST])
    except ValueError:
        raise ArchiveImportError(f"{archive.name}: {MANIFEST} is not valid JSON") from None
    model = manifest.get("model") if isinstance(manifest, dict) else None
    if not isinstance(model, dict):
        raise ArchiveImportError(f'{archive.name}: {MANIFEST} has no "model" object')
    for key in ("modelName", "handler"):
        if not isinstance(model.get(key), str) or not model[key]:
            raise ArchiveImportError(f"{archive.name}: {MANIFEST} model.{key} is missing")
    runtime = str(manifest.get("runtime", "python"))
    if runtime not in ("python", "python3", "LSP"):
        raise ArchiveImportError(
            f"{archive.name}: {MANIFEST} runtime {runtime!r}: only Python handlers are carried over"
        )
    return manifest


def handler_module(archive: Path, model: dict[str, Any], entries: dict[str, bytes]) -> tuple[str, str | None]:
    """The handler's module (a file of the archive or a TorchServe default) and its function, if named."""
    module, _, function = str(model["handler"]).partition(":")
    module = module.removesuffix(".py").split("/")[-1]
    if f"{module}.py" in entries:
        return module, function or None
    if module in UNSUPPORTED_BUILTINS:
        raise ArchiveImportError(
            f"{archive.name}: handler {module!r} is {UNSUPPORTED_BUILTINS[module]}; not carried over"
        )
    if module in BUILTIN_HANDLERS:
        return module, function or None
    raise ArchiveImportError(
        f"{archive.name}: {MANIFEST} names handler {model['handler']!r}, which is neither a file of the "
        f"archive nor one of TorchServe's default handlers Liftoff runs ({', '.join(sorted(BUILTIN_HANDLERS))})"
    )


def _needs_torchserve(module: str, entries: dict[str, bytes]) -> bool:
    if module in BUILTIN_HANDLERS:
        return True
    source = entries.get(f"{module}.py", b"").decode("utf-8", "replace")
    return re.search(r"^\s*(from|import)\s+ts(\.|\s|$)", source, re.MULTILINE) is not None


SAMPLE_STEM = "sample"
"""The request body the model check sends (model.json's `sample`): the importer's `--sample FILE`, or, for an
archive `liftoff:model` names, a file `<archive stem>.sample.<ext>` beside it."""


def sibling_sample(archive: Path) -> Path | None:
    """`x.sample.<ext>` beside `x.mar` (or beside an unpacked folder `x/`), if there is one."""
    found = sorted(archive.parent.glob(f"{archive.name.split('.')[0]}.{SAMPLE_STEM}.*"))
    return found[0] if found else None


def import_archive(archive: Path, target: Path, sample: Path | None = None) -> list[Imported]:
    """Write `archive` (a .mar, tgz, unpacked folder, or a model store folder of them) as Liftoff model
    directories: `target` itself for one archive, `target/<model name>` for each of a model store's.
    `sample`: a request body the model answers, which the model check sends (for a model store, each
    archive's `<name>.sample.<ext>` beside it)."""
    if archive.is_dir() and not (archive / MANIFEST).exists():
        found = sorted(
            p for p in archive.iterdir() if p.suffix in (".mar", ".tgz") or (p / MANIFEST).exists()
        )
        if not found:
            raise ArchiveImportError(
                f"{archive}: a folder with neither {MANIFEST} nor any .mar archive in it"
            )
        imported = []
        for each in found:
            name = manifest_of(each, read_entries(each))["model"]["modelName"]
            imported.extend(import_archive(each, target / str(name), sibling_sample(each)))
        return imported
    if not archive.exists():
        raise ArchiveImportError(f"{archive}: no such file or folder")
    if sample is not None and not sample.is_file():
        raise ArchiveImportError(f"--sample {sample}: no such file")
    entries = read_entries(archive)
    manifest = manifest_of(archive, entries)
    model = manifest["model"]
    name = str(model["modelName"])
    if not _NAME.match(name):
        raise ArchiveImportError(
            f"{archive.name}: model name {name!r} must be letters, digits, '_', '.' or '-', starting with a "
            "letter or digit"
        )
    module, _ = handler_module(archive, model, entries)
    for key in ("serializedFile", "modelFile"):
        file = model.get(key)
        if file and str(file) not in entries:
            raise ArchiveImportError(
                f"{archive.name}: {MANIFEST} model.{key} names {file!r}, not in the archive"
            )
    config = _model_config(archive, model, entries)
    requirements, notes = _requirements(archive, model, module, entries)
    if target.exists() and any(target.iterdir()):
        raise ArchiveImportError(f"{target}: already exists and is not empty; choose a new directory")
    folder = target / ARCHIVE_FOLDER
    for entry, data in entries.items():
        path = folder / entry
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    version = str(model.get("modelVersion") or "1.0")
    metadata = _metadata(name, version)
    if sample is not None:
        sample_file = f"{SAMPLE_STEM}{''.join(sample.suffixes[-1:])}"
        shutil.copyfile(sample, target / sample_file)
        metadata["sample"] = {"body": {"file": sample_file}}
    else:
        notes.append(
            "no --sample: the model check (python -m service check, the server's warm-up) needs one request "
            'body the handler answers; add it as model.json\'s "sample": {"body": {"file": ...}}'
        )
    (target / "model.json").write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    (target / "handler.py").write_text(HANDLER_SHIM.format(folder=ARCHIVE_FOLDER), encoding="utf-8")
    if requirements:
        (target / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    batch_size = _positive(config.get("batchSize"))
    delay = _positive(config.get("maxBatchDelay"))
    if batch_size or delay:
        notes.append(
            "the archive's model-config.yaml batches "
            f"{batch_size or 'the default'} request(s) within {delay or 'the default'} ms: serve with "
            f"LIFTOFF_MAX_BATCH_SIZE={batch_size or 32} LIFTOFF_MAX_BATCH_WAIT_MS={delay or 2} "
            f"(a stack: liftoff:maxBatchSize, liftoff:maxBatchWaitMs)"
        )
    return [Imported(target, name, version, batch_size, float(delay) if delay else None, tuple(notes))]


def _metadata(name: str, version: str) -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "platform": "torchserve",
        "inputs": [
            {"name": "body", "datatype": "BYTES", "shape": [-1], "content_types": list(RAW_CONTENT_TYPES)}
        ],
        "outputs": [
            {"name": "body", "datatype": "BYTES", "shape": [-1]},
            {"name": "content_type", "datatype": "BYTES", "shape": [-1]},
        ],
    }


def _model_config(archive: Path, model: dict[str, Any], entries: dict[str, bytes]) -> dict[str, Any]:
    file = model.get("configFile")
    if not file:
        return {}
    if str(file) not in entries:
        raise ArchiveImportError(
            f"{archive.name}: {MANIFEST} model.configFile names {file!r}, not in the archive"
        )
    import yaml  # the importer's own need: the server imports this module's names without PyYAML

    try:
        config = yaml.safe_load(io.BytesIO(entries[str(file)]))
    except yaml.YAMLError:
        raise ArchiveImportError(f"{archive.name}: entry {file!r} is not valid YAML") from None
    return config if isinstance(config, dict) else {}


def _requirements(
    archive: Path, model: dict[str, Any], module: str, entries: dict[str, bytes]
) -> tuple[list[str], list[str]]:
    """requirements.txt's lines (the archive's, plus TorchServe's package where the handler imports it)."""
    lines: list[str] = []
    notes: list[str] = []
    file = model.get("requirementsFile")
    if file:
        if str(file) not in entries:
            raise ArchiveImportError(
                f"{archive.name}: {MANIFEST} model.requirementsFile names {file!r}, not in the archive"
            )
        lines = entries[str(file)].decode("utf-8").splitlines()
    if _needs_torchserve(module, entries) and not any(re.match(r"^\s*torchserve\b", line) for line in lines):
        lines.append(TORCHSERVE_REQUIREMENT)
        notes.append(
            f"added {TORCHSERVE_REQUIREMENT} to requirements.txt: the handler imports TorchServe's ts"
        )
    # TorchServe imports PyYAML without declaring it, and Liftoff reads an archive's model-config.yaml.
    if (_needs_torchserve(module, entries) or model.get("configFile")) and not any(
        re.match(r"^\s*pyyaml\b", line, re.IGNORECASE) for line in lines
    ):
        lines.append("pyyaml")
    if module in VISION_BUILTINS and not any(re.match(r"^\s*torchvision\b", line) for line in lines):
        notes.append(
            f"TorchServe's {module} needs torchvision: add the release that matches your torch to "
            "requirements.txt"
        )
    return lines, notes


def _positive(value: object) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def remove_partial(target: Path) -> None:
    """Undo a failed import that created `target`."""
    shutil.rmtree(target, ignore_errors=True)


def is_archive(path: Path) -> bool:
    """A TorchServe archive file or an unpacked one, as `liftoff:model` may name instead of a directory."""
    return (path.is_file() and (zipfile.is_zipfile(path) or tarfile.is_tarfile(path))) or (
        path.is_dir() and (path / MANIFEST).is_file()
    )


def imported_copy(archive: Path, root: Path) -> Path:
    """The archive imported under `root`, named by its contents (and its sample's), so `make plan` and
    `pulumi up` can take the archive itself: the same archive reuses its directory, a changed one gets a new
    one."""
    entries = read_entries(archive)
    sample = sibling_sample(archive)
    digest = hashlib.sha256()
    for name in sorted(entries):
        digest.update(name.encode() + b"\0" + hashlib.sha256(entries[name]).digest())
    if sample is not None:
        digest.update(b"sample\0" + hashlib.sha256(sample.read_bytes()).digest())
    name = str(manifest_of(archive, entries)["model"]["modelName"])
    target = root / f"{name}-{digest.hexdigest()[:12]}"
    if not (target / "model.json").is_file():
        partial = root / f".{target.name}.partial"
        remove_partial(partial)
        import_archive(archive, partial, sample)
        partial.rename(target)
    return target
