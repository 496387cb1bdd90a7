"""Imported first by `python -m service`, before torch loads: OpenMP's idle threads sleep, not spin.

Between forward passes, spinning OpenMP threads take the cores the HTTP side needs; issue 10's measurements
(TorchServe with and without it) and ours (docs/benchmarks.md) show the cost in throughput and p99.
An OMP_WAIT_POLICY already in the environment wins.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
