"""`python -m service import-torchserve ARCHIVE DIR [--sample FILE]`: a TorchServe archive as a Liftoff
model directory."""

from __future__ import annotations

import sys
from pathlib import Path

from service.torchserve.archive import ArchiveImportError, import_archive, remove_partial

USAGE = """usage: python -m service import-torchserve ARCHIVE DIRECTORY [--sample FILE]

ARCHIVE: a .mar (as torch-model-archiver writes it), a tgz archive, an unpacked archive folder, or a model
store folder of .mar files (each becomes DIRECTORY/<model name>, with <name>.sample.<ext> beside its .mar as
its sample). DIRECTORY: a new directory; check it with python -m service check DIRECTORY, serve it with
LIFTOFF_MODEL_PATH=DIRECTORY, deploy it with liftoff:model.
--sample FILE: one request body the model answers (an image, a JSON or text file), which the model check
sends through the handler before the server turns ready."""


def main(args: list[str]) -> int:
    if args[:1] in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    sample = None
    if "--sample" in args:
        at = args.index("--sample")
        if at + 1 >= len(args):
            print(USAGE, file=sys.stderr)
            return 2
        sample = Path(args[at + 1])
        args = args[:at] + args[at + 2 :]
    if len(args) != 2 or any(arg.startswith("-") for arg in args):
        print(USAGE, file=sys.stderr)
        return 2
    archive, target = Path(args[0]), Path(args[1])
    existed = target.exists()
    try:
        imported = import_archive(archive, target, sample)
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
