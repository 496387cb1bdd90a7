#!/usr/bin/env bash
# Downloads every wheel the image build needs into wheelhouse/, so that
#   docker build --build-arg PIP_FROM=wheelhouse ...
# installs with no package index at all (air-gapped builds, or a proxy that lets no index through).
#
#   scripts/wheelhouse.sh [cpu|cuda]        (make wheelhouse [VARIANT=cuda])
#
# Run it where an index can be reached (or where pip's own configuration finds the wheels locally).
# The wheels are for the image (Linux x86_64, CPython 3.11), whatever machine downloads them.
# Environment: PYTHON (a Python with pip; default .venv/bin/python), TORCH_INDEX_CPU, TORCH_INDEX_CUDA
# (the same defaults as the Dockerfile's build arguments), MODEL_DIR (also the wheels its requirements.txt needs).
set -euo pipefail
cd "$(dirname "$0")/.."

variant=${1:-cpu}
python=${PYTHON:-.venv/bin/python}
dest=wheelhouse
say() { printf 'wheelhouse: %s\n' "$*" >&2; }

# Read the defaults from the Dockerfile, so the two never disagree.
dockerfile_default() { sed -nE "s/^ARG $1=(.*)$/\\1/p" Dockerfile | head -n 1; }
case $variant in
  cpu) torch_index=${TORCH_INDEX_CPU:-$(dockerfile_default TORCH_INDEX_CPU)} ;;
  cuda) torch_index=${TORCH_INDEX_CUDA:-$(dockerfile_default TORCH_INDEX_CUDA)} ;;
  *)
    say "the variant must be cpu or cuda, not '$variant'"
    exit 2
    ;;
esac
torch_index=${torch_index%/}
label=${torch_index##*/}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The same requirement lists and constraints the Dockerfile's builder derives from the project.
"$python" - "$work" <<'EOF'
import sys
import tomllib
from pathlib import Path

work = Path(sys.argv[1])
project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
(work / "runtime.txt").write_text("\n".join(project["dependencies"]) + "\n")
(work / "train.txt").write_text("\n".join(project["optional-dependencies"]["train"]) + "\n")
(work / "grpc-stubs.txt").write_text("\n".join(project["optional-dependencies"]["grpc-stubs"]) + "\n")
EOF
grep -vE '^(cuda-|nvidia-|triton)' requirements/constraints.txt >"$work/constraints.txt"
printf '%s+%s\n' "$(grep -E '^torch==' "$work/constraints.txt")" "$label" >"$work/variant.txt"

# An index that cannot be reached costs pip five retries per package (minutes); ask once instead. Without
# it, torch must come from pip's own configured sources (a find-links folder, a mirror).
index_args=(--extra-index-url "$torch_index")
if ! "$python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=15)' \
  "$torch_index/torch/" >/dev/null 2>&1; then
  say "$torch_index cannot be reached from here; torch must come from pip's configured sources"
  index_args=()
fi

# MODEL_DIR: a model directory whose requirements.txt the image build installs too (make image-test-example).
model_args=()
if [[ -n ${MODEL_DIR:-} && -f ${MODEL_DIR}/requirements.txt ]]; then
  model_args=(-r "$MODEL_DIR/requirements.txt")
fi

mkdir -p "$dest"
say "downloading the $variant wheels into $dest/"
# Several platform tags: pip does not widen a manylinux_2_X tag to the older ones by itself, and
# bookworm's glibc (2.36) runs wheels built for any of them.
"$python" -m pip download --quiet --dest "$dest" --only-binary=:all: \
  --python-version 3.11 --implementation cp --abi cp311 \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_26_x86_64 \
  --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux_2_12_x86_64 --platform manylinux2010_x86_64 --platform manylinux_2_5_x86_64 \
  --platform manylinux1_x86_64 --platform linux_x86_64 \
  "${index_args[@]}" \
  -c "$work/constraints.txt" -c "$work/variant.txt" \
  -r "$work/runtime.txt" -r "$work/train.txt" -r "$work/grpc-stubs.txt" "${model_args[@]}"

torch_wheel=$(compgen -G "$dest/torch-*+${label}-*.whl" | head -n 1 || true)
if [[ -z $torch_wheel ]]; then
  say "no torch wheel with the +$label build label landed in $dest/"
  exit 1
fi
say "$(find "$dest" -name '*.whl' | wc -l) wheels, $(du -sh "$dest" | cut -f1) in $dest/ (torch: ${torch_wheel##*/})"
