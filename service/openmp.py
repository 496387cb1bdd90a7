"""Imported first by `python -m service`, before torch loads: OpenMP's idle threads sleep, not spin.

Between forward passes, spinning OpenMP threads take the cores the HTTP side needs, which costs throughput
and p99 (docs/benchmarks.md measures it, for TorchServe too).
An OMP_WAIT_POLICY already in the environment wins.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
