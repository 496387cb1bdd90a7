"""`make bench`: Liftoff side by side with the servers a user would pick instead, on this machine.

`python -m bench` builds the models, sets up the competitors' own environments, measures each model's
forward-pass ceiling, drives every server with the same `wrk` load and payloads, and writes
docs/benchmarks.md. `python -m bench --help` lists the modes.
"""
