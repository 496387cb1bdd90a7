"""service/allocator.py: a forward pass's freed memory is reused, not faulted in again from the kernel."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from service import allocator

# One thread (the inference thread's own arena) allocating, touching and freeing activation-sized blocks
# round after round, as forward passes do; prints the page faults of the first round and of all the rest.
ROUNDS = textwrap.dedent(
    """
    import ctypes, resource, sys, threading
    if sys.argv[1] == "keep":
        import service.allocator
        assert service.allocator.KEPT
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    def faults():
        return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    def rounds():
        sizes = [12_000_000, 3_000_000, 24_000_000, 6_000_000]
        counts = []
        for _ in range(20):
            before = faults()
            blocks = [libc.malloc(size) for size in sizes]
            for block, size in zip(blocks, sizes):
                ctypes.memset(block, 1, size)
            for block in blocks:
                libc.free(block)
            counts.append(faults() - before)
        print(counts[0], sum(counts[1:]))
    thread = threading.Thread(target=rounds)
    thread.start()
    thread.join()
    """
)


def _faults(mode: str) -> tuple[int, int]:
    env = {"PATH": "/usr/bin:/bin"}  # none of the MALLOC_ settings that would make the module stand aside
    done = subprocess.run(
        [sys.executable, "-c", ROUNDS, mode], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    first, rest = done.stdout.split()
    return int(first), int(rest)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator: Linux only")
def test_later_rounds_reuse_the_first_rounds_pages() -> None:
    first, rest = _faults("keep")
    assert first > 10_000  # ~45 MB touched for the first time
    assert rest < first // 100, f"{rest} page faults after the first round of {first}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator: Linux only")
def test_without_it_glibc_faults_the_memory_in_again() -> None:
    """What the module is for: glibc's own thresholds give a later round's memory back to the kernel."""
    first, rest = _faults("default")
    _, kept_rest = _faults("keep")
    assert rest > kept_rest + first // 2, (rest, kept_rest)


def test_a_threshold_in_the_environment_wins() -> None:
    for name in allocator.OWN_SETTINGS:
        assert allocator.keep_freed_memory({name: "1"}) is False


def test_the_server_sets_it_before_torch_loads() -> None:
    import service.__main__  # noqa: F401  (imports the allocator module first)

    assert "service.allocator" in sys.modules
    if sys.platform.startswith("linux"):
        assert allocator.KEPT
