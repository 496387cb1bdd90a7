"""`python -m service weights ...`: what a user with their own bucket runs.

    python -m service weights manifest DIR            write DIR/liftoff-weights.json
    python -m service weights push DIR URI            upload DIR's files (content-addressed) and its manifest
    python -m service weights pull URI DIR            fetch and verify, as the server does before loading

The store is found from the environment, as the server finds it (service/weights/source.py).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from typing import NoReturn

import obstore

from service.weights.fetch import FetchOptions, WeightsFetchError, fetch_weights
from service.weights.manifest import MANIFEST_FILE, Manifest, ManifestError, build_manifest
from service.weights.source import WeightsSourceError, open_store, parse_uri

PUT_CONCURRENCY = 8
PART_BYTES = 16 * 1024 * 1024
PUSH_RETRIES = 5
"""obstore's own retries (with its backoff) for uploads: a push is run by hand and should ride out a blip."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m service weights", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    manifest = commands.add_parser("manifest", help="write DIR/liftoff-weights.json (sizes and sha256)")
    manifest.add_argument("dir", type=Path)
    push = commands.add_parser(
        "push", help="upload DIR's files under URI, each as blobs/<sha256>, then the manifest"
    )
    push.add_argument("dir", type=Path)
    push.add_argument("uri")
    push.add_argument(
        "--by-path", action="store_true", help="store files under their own names, not blobs/<sha256>"
    )
    pull = commands.add_parser("pull", help="fetch URI's files into DIR and verify them, as the server does")
    pull.add_argument("uri")
    pull.add_argument("dir", type=Path)
    return parser


async def _push(folder: Path, uri: str, manifest: Manifest) -> tuple[int, int]:
    source = parse_uri(uri)
    store = open_store(source, request_timeout_s=900.0, client_retries=PUSH_RETRIES)
    existing: set[str] = set()
    async for batch in obstore.list(store, prefix="blobs/"):
        existing.update(meta["path"] for meta in batch)
    slots = asyncio.Semaphore(PUT_CONCURRENCY)
    uploaded = 0
    sent = 0

    async def put(path: Path, key: str, size: int) -> None:
        nonlocal uploaded, sent
        async with slots:
            await obstore.put_async(store, key, path, chunk_size=PART_BYTES, max_concurrency=PUT_CONCURRENCY)
        uploaded += 1
        sent += size

    jobs = {}
    for entry in manifest.files:
        if entry.key not in existing:  # content-addressed: an object that exists already holds these bytes
            jobs[entry.key] = put(folder / entry.path, entry.key, entry.size)
    await asyncio.gather(*jobs.values())
    await obstore.put_async(store, MANIFEST_FILE, manifest.dumps().encode())
    return uploaded, sent


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level="INFO", format="%(message)s")
    try:
        if args.command == "manifest":
            manifest = build_manifest(args.dir)
            (args.dir / MANIFEST_FILE).write_text(manifest.dumps())
            print(
                f"wrote {args.dir / MANIFEST_FILE}: {len(manifest.files)} files, {manifest.total_bytes} bytes"
            )
        elif args.command == "push":
            manifest = build_manifest(args.dir, content_addressed=not args.by_path)
            started = time.monotonic()
            uploaded, sent = asyncio.run(_push(args.dir, args.uri, manifest))
            print(
                f"pushed {args.dir} to {args.uri}: {uploaded} of {len(manifest.files)} files uploaded "
                f"({sent} bytes, {time.monotonic() - started:.1f} s); the rest were there already; "
                f"manifest {args.uri.rstrip('/')}/{MANIFEST_FILE}"
            )
        else:
            report = fetch_weights(parse_uri(args.uri), args.dir, FetchOptions())
            print(
                f"{args.dir}: {report.files} files verified, {report.fetched_files} fetched "
                f"({report.fetched_bytes} bytes) in {report.seconds:.1f} s"
            )
    except (ManifestError, WeightsSourceError, WeightsFetchError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (obstore.exceptions.BaseError, OSError) as exc:
        print(f"error: {args.command}: {str(exc).strip().splitlines()[0][:300]}", file=sys.stderr)
        return 1
    return 0


def run_and_exit(argv: list[str]) -> NoReturn:
    """main, then leave without interpreter finalization: obstore's Tokio worker threads outlive the last
    call, and one still running while Python tears itself down can abort the process (SIGABRT) after the
    work succeeded, which a script would read as a failure."""
    code = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
