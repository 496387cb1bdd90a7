"""Make a weights prefix local: every manifest file fetched in parallel ranged reads, verified, then renamed.

A file reaches its final name only after its sha256 matched the manifest, so a folder never holds a partial
or corrupt file under a name a handler reads. A restart finds those files through `.liftoff-verified.json`
(each file's sha256, size and mtime when it was verified) and fetches only what is missing or changed.
Transient failures (a timeout, a dropped connection, a 5xx) are retried with exponential backoff a bounded
number of times; a missing object or a denied read is final at once. Every failure is one line naming the
object and what was wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import itertools
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import obstore
from obstore.exceptions import NotFoundError, PermissionDeniedError, UnauthenticatedError

from service.weights.manifest import (
    HASH_CHUNK,
    MANIFEST_FILE,
    Manifest,
    ManifestError,
    WeightsFile,
    parse_manifest,
)
from service.weights.metrics import RECORD, FetchRecord
from service.weights.source import WeightsSource, WeightsSourceError, open_store

log = logging.getLogger(__name__)

VERIFIED_FILE = ".liftoff-verified.json"
LOCK_FILE = ".liftoff-weights.lock"
PARTIAL_SUFFIX = ".liftoff-partial"
MiB = 1024 * 1024
REQUEST_BACKSTOP_S = 900.0


@dataclass(frozen=True)
class FetchOptions:
    concurrency: int = 16
    """Ranged reads in flight at once, over all files."""
    chunk_bytes: int = 64 * MiB
    """One ranged read; a file smaller than this is one read."""
    read_timeout_s: float = 30.0
    """Longest wait for the next piece of a read before it counts as stalled (and is retried)."""
    attempts: int = 4
    """Tries of one ranged read for transient failures."""
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    progress_interval_s: float = 5.0
    stream_piece_bytes: int = 1 * MiB
    """How much of a read arrives before it is written; the read timeout is per piece."""


class WeightsFetchError(RuntimeError):
    """One line: the object and what was wrong. The pod stays unready (or exits) with it."""


@dataclass
class FetchReport:
    files: int
    fetched_files: int
    fetched_bytes: int
    reused_files: int
    seconds: float
    total_bytes: int = 0
    paths: list[str] = field(default_factory=list)


class _Final(Exception):
    """A failure retrying cannot fix."""


class _Progress:
    def __init__(self, total: int, interval_s: float, where: str) -> None:
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self.interval_s = interval_s
        self.where = where

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        percent = 100.0 * self.done / self.total if self.total else 100.0
        eta = f"about {left:.0f} s left" if left != float("inf") else "time left unknown"
        return (
            f"weights from {self.where}: {_size(self.done)} of {_size(self.total)} ({percent:.0f}%), "
            f"{_size(rate)}/s, {eta}"
        )

    async def report_every_interval(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            log.info("%s", self.line())


def _size(count: float) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", MiB), ("KiB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count:.0f} B"


STATUS = re.compile(r"status code: (\d{3})(?: ([A-Za-z ]+))?")


def _one_line(exc: BaseException) -> str:
    """The HTTP status when the store answered one, else the error's first line, kept short."""
    text = str(exc)
    status = STATUS.search(text)
    if status:
        return f"HTTP {status.group(1)}" + (f" {status.group(2).strip()}" if status.group(2) else "")
    lines = text.strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


def _classify(exc: BaseException, what: str) -> Exception:
    """`_Final` for what retrying cannot fix (missing, denied, any other 4xx but 408 and 429); anything else
    (timeouts, dropped connections, 5xx) is retried."""
    if isinstance(exc, (NotFoundError, FileNotFoundError)):
        return _Final(f"{what}: not found")
    if isinstance(exc, (PermissionDeniedError, UnauthenticatedError, PermissionError)):
        return _Final(f"{what}: read denied ({_one_line(exc)})")
    status = STATUS.search(str(exc))
    if status and status.group(1).startswith("4") and status.group(1) not in ("408", "429"):
        return _Final(f"{what}: refused ({_one_line(exc)})")
    return exc if isinstance(exc, Exception) else RuntimeError(str(exc))


class _Fetcher:
    def __init__(self, source: WeightsSource, store: Any, options: FetchOptions, record: FetchRecord) -> None:
        self.source = source
        self.store = store
        self.options = options
        self.record = record
        self.slots = asyncio.Semaphore(options.concurrency)

    async def _retrying(self, what: str, attempt_once: Any) -> Any:
        opts = self.options
        delay = opts.backoff_s
        for attempt in range(1, opts.attempts + 1):
            try:
                return await attempt_once()
            except _Final:
                raise
            except TimeoutError:
                reason = f"no data for {opts.read_timeout_s:g} s (read timeout)"
            except Exception as exc:
                classified = _classify(exc, what)
                if isinstance(classified, _Final):
                    raise classified from None
                reason = _one_line(exc)
            if attempt == opts.attempts:
                raise _Final(f"{what}: {reason}, after {attempt} attempts")
            log.warning(
                "%s: %s; retrying in %.1f s (attempt %d of %d)", what, reason, delay, attempt, opts.attempts
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, opts.max_backoff_s)
        raise AssertionError("unreachable")

    async def read_manifest(self) -> Manifest:
        what = self.source.object_uri(MANIFEST_FILE)

        async def once() -> bytes:
            result = await asyncio.wait_for(
                obstore.get_async(self.store, MANIFEST_FILE), self.options.read_timeout_s
            )
            return bytes(await asyncio.wait_for(result.bytes_async(), self.options.read_timeout_s))

        try:
            raw = await self._retrying(what, once)
        except _Final as exc:
            raise WeightsFetchError(f"weights manifest {exc}") from None
        return parse_manifest(raw, what)

    async def read_range(
        self, entry: WeightsFile, fd: int, start: int, end: int, progress: _Progress, landed: asyncio.Event
    ) -> None:
        what = self.source.object_uri(entry.key)
        opts = self.options

        async def once() -> None:
            written = 0
            try:
                result = await asyncio.wait_for(
                    obstore.get_async(self.store, entry.key, options={"range": (start, end)}),
                    opts.read_timeout_s,
                )
                pieces = result.stream(min_chunk_size=opts.stream_piece_bytes).__aiter__()
                while True:
                    try:
                        piece = await asyncio.wait_for(pieces.__anext__(), opts.read_timeout_s)
                    except StopAsyncIteration:
                        break
                    view = memoryview(piece)
                    if written + len(view) > end - start:
                        raise _Final(f"{what}: longer than the {entry.size} bytes the manifest lists")
                    os.pwrite(fd, view, start + written)
                    written += len(view)
                    progress.done += len(view)
                    self.record.add_bytes(len(view))
            except BaseException:
                progress.done -= written  # this range starts over on the next attempt
                raise
            if written != end - start:  # a connection cut short: read the range again
                progress.done -= written
                raise ConnectionError(f"ended after {start + written} bytes; the manifest lists {entry.size}")

        async with self.slots:
            await self._retrying(what, once)
        landed.set()

    async def fetch_file(self, entry: WeightsFile, dest: Path, progress: _Progress) -> None:
        final = dest / entry.path
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.with_name(final.name + PARTIAL_SUFFIX)
        fd = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        digest = hashlib.sha256()
        try:
            os.ftruncate(fd, entry.size)
            step = self.options.chunk_bytes
            ranges = [(s, min(s + step, entry.size)) for s in range(0, entry.size, step)]
            landed = [asyncio.Event() for _ in ranges]

            async def hash_in_order() -> None:
                # Hashing each range as soon as it and those before it have landed keeps the verify off the
                # end of the fetch: only the last range's hash is left when the last byte arrives.
                for (start, end), event in zip(ranges, landed, strict=True):
                    await event.wait()
                    await asyncio.to_thread(_hash_range, fd, start, end, digest)

            reads = (
                self.read_range(entry, fd, s, e, progress, ev)
                for (s, e), ev in zip(ranges, landed, strict=True)
            )
            await _all_or_none(itertools.chain(reads, [hash_in_order()]))
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            partial.unlink(missing_ok=True)
            raise
        os.close(fd)
        actual = digest.hexdigest()
        if actual != entry.sha256:
            partial.unlink(missing_ok=True)
            self.record.add_verify_failure()
            raise _Final(
                f"{self.source.object_uri(entry.key)}: sha256 {actual} does not match the manifest's "
                f"{entry.sha256} for {entry.path}; it was not kept"
            )
        os.replace(partial, final)


def _hash_range(fd: int, start: int, end: int, digest: Any) -> None:
    """Read back what was just written (from the page cache) into the file's running sha256."""
    position = start
    while position < end:
        chunk = os.pread(fd, min(HASH_CHUNK, end - position), position)
        if not chunk:
            raise OSError(f"short read at {position}")
        digest.update(chunk)
        position += len(chunk)


async def _all_or_none(coroutines: Iterator[Any]) -> None:
    """Run them all; on the first failure cancel the rest and raise it."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _remove_partials(dest: Path) -> None:
    """What a fetch that was killed left behind; never under a name a handler reads."""
    for leftover in dest.rglob("*" + PARTIAL_SUFFIX):
        leftover.unlink(missing_ok=True)


def _read_verified(dest: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((dest / VERIFIED_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _stat_key(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _is_verified(dest: Path, entry: WeightsFile, verified: dict[str, dict[str, Any]]) -> bool:
    path = dest / entry.path
    seen = verified.get(entry.path)
    if not path.is_file() or seen is None or seen.get("sha256") != entry.sha256:
        return False
    return {k: seen.get(k) for k in ("size", "mtime_ns")} == _stat_key(path) and entry.size == seen.get(
        "size"
    )


def _write_verified(dest: Path, manifest: Manifest) -> None:
    record = {e.path: {"sha256": e.sha256, **_stat_key(dest / e.path)} for e in manifest.files}
    tmp = dest / (VERIFIED_FILE + PARTIAL_SUFFIX)
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, dest / VERIFIED_FILE)
    (dest / MANIFEST_FILE).write_text(manifest.dumps())
    dir_fd = os.open(dest, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def _locked(dest: Path) -> Iterator[None]:
    """Several server workers may start at once on one folder: one fetches, the others then find it done."""
    with (dest / LOCK_FILE).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


async def _fetch(
    source: WeightsSource, dest: Path, options: FetchOptions, record: FetchRecord, store: Any
) -> FetchReport:
    started = time.monotonic()
    fetcher = _Fetcher(source, store, options, record)
    manifest = await fetcher.read_manifest()
    verified = _read_verified(dest)
    _remove_partials(dest)
    wanted = [e for e in manifest.files if not _is_verified(dest, e, verified)]
    reused = len(manifest.files) - len(wanted)
    record.add_reused(reused)
    need = sum(e.size for e in wanted)
    log.info(
        "weights from %s: %d files, %s; %d already verified here, fetching %d (%s) into %s",
        source.uri,
        len(manifest.files),
        _size(manifest.total_bytes),
        reused,
        len(wanted),
        _size(need),
        dest,
    )
    progress = _Progress(need, options.progress_interval_s, source.uri)
    reporter = asyncio.create_task(progress.report_every_interval())
    try:
        if wanted:
            (dest / VERIFIED_FILE).unlink(missing_ok=True)  # rewritten once every file verifies
            await _all_or_none(fetcher.fetch_file(e, dest, progress) for e in wanted)
    except _Final as exc:
        raise WeightsFetchError(f"weights object {exc}") from None
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
    _write_verified(dest, manifest)
    seconds = time.monotonic() - started
    record.add_seconds(seconds)
    if wanted:
        log.info("%s; verified every file in %.1f s", progress.line(), seconds)
    return FetchReport(
        files=len(manifest.files),
        fetched_files=len(wanted),
        fetched_bytes=need,
        reused_files=reused,
        seconds=seconds,
        total_bytes=manifest.total_bytes,
        paths=[e.path for e in manifest.files],
    )


def fetch_weights(
    source: WeightsSource,
    dest: Path,
    options: FetchOptions | None = None,
    record: FetchRecord = RECORD,
) -> FetchReport:
    """Blocking (run it off the event loop). Raises WeightsFetchError, or ManifestError for a bad manifest."""
    options = options or FetchOptions()
    dest.mkdir(parents=True, exist_ok=True)
    # The client's own timeout covers a whole ranged read; stalls are caught per piece by read_timeout_s.
    try:
        store = open_store(source, request_timeout_s=REQUEST_BACKSTOP_S)
    except obstore.exceptions.BaseError as exc:
        raise WeightsSourceError(f"weights store for {source.uri}: {_one_line(exc)}") from None
    with _locked(dest):
        try:
            return asyncio.run(_fetch(source, dest, options, record, store))
        except ManifestError:
            raise
        except OSError as exc:
            raise WeightsFetchError(f"weights into {dest}: {exc.strerror or exc}") from None
