"""python -m infra.weights layout FOLDER OUT: a weights folder laid out as a stack would upload it.

OUT/liftoff-weights.json and OUT/blobs/<sha256> (hard links where the file system allows, else copies), for
`aws s3 sync OUT s3://bucket/prefix/` on the dev stack, which uploads nothing itself.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from infra.weights.manifest import build_manifest
from service.weights.manifest import MANIFEST_FILE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.weights", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    layout = commands.add_parser("layout", help="write OUT/liftoff-weights.json and OUT/blobs/<sha256>")
    layout.add_argument("folder", type=Path)
    layout.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"error: {args.folder} is not a folder", file=sys.stderr)
        return 2
    manifest = build_manifest(args.folder)
    (args.out / "blobs").mkdir(parents=True, exist_ok=True)
    for file in manifest.files:
        target = args.out / file.object
        if not target.exists():
            try:
                os.link(file.source, target)
            except OSError:
                shutil.copyfile(file.source, target)
    (args.out / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    print(f"{len(manifest.files)} files, {manifest.total_bytes} bytes, under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
