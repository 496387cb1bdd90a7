"""The Python environments the benchmark runs in.

Liftoff and the FastAPI baseline run in the project's `.venv`. Each competitor gets its own pinned venv
under `.bench/` (never the project's: LitServe, TorchServe and BentoML pin their own versions of shared
libraries), installed with plain pip from `bench/requirements/<name>.txt`. torch is pinned to the project's
release there too; set TORCH_INDEX to a CPU wheel index where pip would otherwise pick a CUDA build.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO / ".bench"
REQUIREMENTS = REPO / "bench" / "requirements"


@dataclass(frozen=True)
class Env:
    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    @classmethod
    def project(cls) -> Env:
        return cls(REPO / ".venv")

    @classmethod
    def litserve(cls) -> Env:
        return cls(BENCH_DIR / "venv-litserve")

    @classmethod
    def torchserve(cls) -> Env:
        return cls(BENCH_DIR / "venv-torchserve")

    @classmethod
    def bentoml(cls) -> Env:
        return cls(BENCH_DIR / "venv-bentoml")

    @classmethod
    def tools(cls) -> Env:
        return cls(BENCH_DIR / "venv-tools")


def ensure(name: str) -> Env:
    """Create `.bench/venv-<name>` from its pinned requirements unless it is already up to date."""
    env = Env(BENCH_DIR / f"venv-{name}")
    requirements = REQUIREMENTS / f"{name}.txt"
    stamp = env.root / ".installed"
    if stamp.exists() and stamp.stat().st_mtime >= requirements.stat().st_mtime:
        return env
    print(f"setting up {env.root.relative_to(REPO)} from {requirements.relative_to(REPO)}", flush=True)
    if not env.python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(env.root)], check=True)
    index = os.environ.get("TORCH_INDEX")
    extra = ["--extra-index-url", index] if index else []
    subprocess.run(
        [str(env.python), "-m", "pip", "install", "--quiet", *extra, "-r", str(requirements)], check=True
    )
    stamp.touch()
    return env
