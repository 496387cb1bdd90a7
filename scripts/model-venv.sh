#!/usr/bin/env bash
# An environment like the image's for one model directory, built once and reused: the server's runtime
# dependencies (pyproject's [project.dependencies], never the train or dev extras) plus the directory's
# requirements.txt, under the project's pins, with torch's CPU build as the CPU image has it. Prints the
# environment's python, for `make serve MODEL_DIR=...` and `make check MODEL_DIR=...`:
#
#   scripts/model-venv.sh models/mine       ->  .venv-model-<12 hex>/bin/python
#
# So a handler that imports a package its requirements.txt does not list fails here as it would in the
# image, with the same `No module named ...`, instead of serving from the project's fuller .venv.
# Environment: PYTHON (a Python 3.11 to build it with; default python3), TORCH_INDEX_CPU (the Dockerfile's
# default), DRY_RUN=1 (print the requirement lists it would install, build nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
model_dir=${1:?usage: scripts/model-venv.sh MODEL_DIR}
python=${PYTHON:-python3}
say() { printf 'model-venv: %s\n' "$*" >&2; }
[[ -f $model_dir/model.json ]] || { say "$model_dir is not a model directory (no model.json in it)"; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The same lists the Dockerfile's requirements stage derives from the project.
"$python" - "$work" <<'EOF'
import sys
import tomllib
from pathlib import Path

project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
(Path(sys.argv[1]) / "runtime.txt").write_text("\n".join(project["dependencies"]) + "\n")
EOF
grep -vE '^(cuda-|nvidia-|triton)' requirements/constraints.txt >"$work/constraints.txt"
: >"$work/model.txt"
if [[ -f $model_dir/requirements.txt ]]; then cp "$model_dir/requirements.txt" "$work/model.txt"; fi

if [[ -n ${DRY_RUN:-} ]]; then
  printf '# runtime\n'; cat "$work/runtime.txt"; printf '# model\n'; cat "$work/model.txt"
  exit 0
fi
key=$(cat "$work/runtime.txt" "$work/constraints.txt" "$work/model.txt" | sha256sum | cut -c1-12)
venv=.venv-model-$key
if [[ ! -x $venv/bin/python ]]; then
  torch_index=${TORCH_INDEX_CPU:-$(sed -nE 's/^ARG TORCH_INDEX_CPU=(.*)$/\1/p' Dockerfile | head -n 1)}
  say "building $venv: the server's runtime dependencies and $model_dir/requirements.txt (minutes, once)"
  rm -rf "$venv.partial"
  "$python" -m venv "$venv.partial"
  "$venv.partial/bin/python" -m pip install --quiet --disable-pip-version-check \
    --extra-index-url "$torch_index" -c "$work/constraints.txt" -r "$work/runtime.txt" -r "$work/model.txt" >&2 \
    || { say "the model's requirements.txt could not be installed under the project's pins (pip said why above)"; exit 1; }
  mv "$venv.partial" "$venv"
fi
printf '%s\n' "$venv/bin/python"
