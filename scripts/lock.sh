#!/usr/bin/env bash
# Regenerates the pinned constraints every install uses. Run after changing dependencies in pyproject.toml.
#
# torch is pinned to one release; its CUDA-only companions (nvidia-*, cuda-*, triton) are left out of the file
# because the build to install (CPU or CUDA) is chosen by the install command, not by this lock.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-uv}
command -v "$uv" >/dev/null || uv=".venv/bin/uv"
torch_pin=${TORCH_PIN:-torch==2.13.0}
# One resolve with everything, to learn the CUDA-only package names to drop.
all=$("$uv" pip compile pyproject.toml --all-extras --python-version 3.11 \
  --python-platform x86_64-manylinux_2_28 -P "$torch_pin" --quiet --no-header)
drop=()
for name in $(printf '%s\n' "$all" | grep -oE '^(nvidia-[a-z0-9-]+|cuda-[a-z0-9-]+|triton)==' | tr -d '='); do
  drop+=(--no-emit-package "$name")
done
"$uv" pip compile pyproject.toml --all-extras --python-version 3.11 \
  --python-platform x86_64-manylinux_2_28 -P "$torch_pin" "${drop[@]}" \
  --custom-compile-command "scripts/lock.sh" -o requirements/constraints.txt
# checkov pins older releases of what the project uses, so it lives in a tool environment of its own.
"$uv" pip compile requirements/checkov.in --python-version 3.11 \
  --custom-compile-command "scripts/lock.sh" -o requirements/checkov.txt
# tritonclient.grpc needs protobuf 6, which the project's pulumi-policy pin rules out: a tool environment too.
"$uv" pip compile requirements/tritonclient-grpc.in --python-version 3.11 \
  --custom-compile-command "scripts/lock.sh" -o requirements/tritonclient-grpc.txt
# kserve (its SDK in tests, its model server in `make bench`) pins its own FastAPI and protobuf 6: a tool
# environment too.
"$uv" pip compile requirements/kserve.in --python-version 3.11 \
  --custom-compile-command "scripts/lock.sh" -o requirements/kserve.txt
