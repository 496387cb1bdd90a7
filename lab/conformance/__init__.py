"""Liftoff against what nobody on this project wrote: `make conformance` (`python -m lab.conformance`).

Two parts, each against a real `python -m service`:
- the Open Inference Protocol's official OpenAPI document (KServe's `rest_predict_v2.yaml`) through
  schemathesis, for a bounded time, against the digits model;
- Triton's own example clients, unmodified, that apply to one model per server, against the `simple`,
  `simple_int8` and `simple_string` models of models/ here, built as a Liftoff user builds a model.

Both are fetched at pinned commits into .conformance/ (git-ignored) the first time, or read from folders
given on the command line. The result is a pass/fail table, the one docs/protocols.md shows.
"""
