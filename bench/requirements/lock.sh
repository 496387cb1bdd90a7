#!/usr/bin/env bash
# Re-pins the benchmark competitors' environments (bench/requirements/*.txt) from their .in files, or only
# the ones named: `bench/requirements/lock.sh bench/requirements/bentoml.in`.
# torch is pinned to the project's release; its CUDA-only companions (nvidia-*, cuda-*, triton) are left out
# so the CPU build installs from the same pins (see scripts/lock.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
uv=${UV:-.venv/bin/uv}
in_files=("$@")
((${#in_files[@]})) || in_files=(bench/requirements/*.in)
for in_file in "${in_files[@]}"; do
  all=$("$uv" pip compile "$in_file" --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
    --quiet --no-header)
  drop=()
  for name in $(printf '%s\n' "$all" | grep -oE '^(nvidia-[a-z0-9-]+|cuda-[a-z0-9-]+|triton)==' | tr -d '='); do
    drop+=(--no-emit-package "$name")
  done
  "$uv" pip compile "$in_file" --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
    "${drop[@]}" --custom-compile-command "bench/requirements/lock.sh" --quiet -o "${in_file%.in}.txt"
done
