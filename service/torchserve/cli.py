"""`python -m service import-torchserve ARCHIVE DIR`: a TorchServe archive as a Liftoff model directory."""

from __future__ import annotations

import sys
from pathlib import Path

from service.torchserve.archive import ArchiveImportError, import_archive, remove_partial

USAGE = """usage: python -m service import-torchserve ARCHIVE DIR

ARCHIVE: a .mar (as torch-model-archiver writes it), a tgz archive, an unpacked archive folder, or a model
store folder of .mar files (each becomes DIR/<model name>). DIR: a new directory; serve it with
LIFTOFF_MODEL_PATH=DIR, or deploy it with liftoff:model."""


def main(args: list[str]) -> int:
    if len(args) != 2 or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if args[:1] in (["-h"], ["--help"]) else sys.stderr)
        return 0 if args[:1] in (["-h"], ["--help"]) else 2
    archive, target = Path(args[0]), Path(args[1])
    existed = target.exists()
    try:
        imported = import_archive(archive, target)
    except (ArchiveImportError, OSError) as exc:
        if not existed:
            remove_partial(target)
        print(f"import-torchserve: {exc}", file=sys.stderr)
        return 1
    for each in imported:
        print(f"wrote {each.directory} (model {each.name!r} version {each.version})")
        for note in each.notes:
            print(f"  note: {note}")
    return 0
