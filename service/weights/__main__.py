"""`python -m service.weights ...`: the same commands as `python -m service weights ...`, without loading the
server (no torch import), for scripts and CI."""

import sys

from service.weights.cli import run_and_exit

run_and_exit(sys.argv[1:])
