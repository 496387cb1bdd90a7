#!/usr/bin/env bash
# Builds the inference image with BuildKit:  scripts/image-build.sh cpu|cuda [TAG]
# (make image / make image-cuda call it.) Without TAG the image is named after the model it serves:
# liftoff-<name>:<version>-<variant> from model.json (liftoff-digits:1-cpu for the bundled model).
#
# Environment (all optional):
#   BASE_IMAGE   overrides the Dockerfile's pinned base (e.g. liftoff-base:bookworm-py311 from
#                scripts/offline-base-image.sh)
#   PIP_FROM     index (default) | wheelhouse (no index at all; fill wheelhouse/ with make wheelhouse)
#   MODEL_DIR    a model directory to serve (docs/your-model.md), anywhere (absolute, relative, a symlink),
#                passed as the named build context `model`, which holds only that directory; empty serves
#                the bundled digits model. The build's last step runs its model check in the final image.
#   TORCH_INDEX_CUDA  overrides the Dockerfile's CUDA torch index; empty: PyPI's default (CUDA) torch build
#   CA_CERT      a PEM file with a corporate CA, passed as the BuildKit secret `ca` to the install steps
#   DOCKER       the docker client to use; by default the first one on PATH that can build with BuildKit
#   DRY_RUN      1: print the docker build command it would run (a client with named contexts), build nothing
set -euo pipefail
cd "$(dirname "$0")/.."

variant=${1:?usage: scripts/image-build.sh cpu|cuda [TAG]}
say() { printf 'image-build: %s\n' "$*" >&2; }
if [[ -n ${MODEL_DIR:-} ]]; then
  [[ -f $MODEL_DIR/model.json ]] || { say "MODEL_DIR=$MODEL_DIR is not a model directory (no model.json in it)"; exit 1; }
  MODEL_DIR=$(realpath "$MODEL_DIR") # a symlink or a relative path: the directory itself is the context
fi
# The model's name and version (model.json; the bundled digits model's otherwise), for the default tag.
model_tag() {
  python3 - "${MODEL_DIR:-}" <<'EOF'
import json, re, sys
meta = json.load(open(sys.argv[1] + "/model.json")) if sys.argv[1] else {"name": "digits", "version": "1"}
clean = lambda text: re.sub(r"[^a-z0-9_.-]", "-", str(text).lower()).strip(".-") or "model"
print(f"liftoff-{clean(meta.get('name', 'model'))}:{clean(meta.get('version', '1'))}")
EOF
}
tag=${2:-$(model_tag)-$variant}

# BuildKit is needed for the cache and secret mounts. A recent docker CLI builds with it through the buildx
# plugin; Debian's docker.io (20.10) has it built in. A CLI with neither refuses DOCKER_BUILDKIT=1 builds.
buildkit_client() {
  local client
  while read -r client; do
    if DOCKER_BUILDKIT=1 "$client" build --help 2>/dev/null | grep -q -- '--secret'; then
      printf '%s\n' "$client"
      return 0
    fi
  done < <(type -ap docker | awk '!seen[$0]++')
  return 1
}
if [[ -n ${DRY_RUN:-} ]]; then
  docker=${DOCKER:-docker}
  context_flag=--build-context
else
  docker=${DOCKER:-$(buildkit_client)} || {
    say "no docker client here can build with BuildKit (install the buildx plugin)"
    exit 1
  }
  context_flag=$(DOCKER_BUILDKIT=1 "$docker" build --help 2>/dev/null | grep -o -- '--build-context' | head -n 1 || true)
fi

args=(--build-arg "VARIANT=$variant" --build-arg "PIP_FROM=${PIP_FROM:-index}" --tag "$tag")
# Set, even to empty (PyPI's own CUDA build of torch, as make image-test-cuda asks): passed through.
if [[ -n ${TORCH_INDEX_CUDA+set} ]]; then
  args+=(--build-arg "TORCH_INDEX_CUDA=$TORCH_INDEX_CUDA")
fi
if [[ -n ${BASE_IMAGE:-} ]]; then
  args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
fi
if [[ -n ${MODEL_DIR:-} ]]; then
  if [[ -n $context_flag ]]; then
    args+=(--build-context "model=$MODEL_DIR")
  else
    # No named build contexts in this client (Debian's docker.io 20.10): the directory becomes an image of its
    # own, named by its contents, which the Dockerfile's `model` stage starts from (MODEL_SOURCE).
    model_image="liftoff-model-source:$(tar -C "$MODEL_DIR" --sort=name -cf - . | sha256sum | cut -c1-16)"
    printf 'FROM scratch\nCOPY . /\n' | DOCKER_BUILDKIT=1 "$docker" build --quiet --tag "$model_image" -f - "$MODEL_DIR" >/dev/null
    args+=(--build-arg "MODEL_SOURCE=$model_image")
  fi
fi
if [[ -n ${CA_CERT:-} ]]; then
  [[ -r $CA_CERT ]] || { say "CA_CERT=$CA_CERT cannot be read"; exit 1; }
  args+=(--secret "id=ca,src=$CA_CERT")
fi

say "building $tag (variant $variant, model ${MODEL_DIR:-digits}${TORCH_INDEX_CUDA+, torch index '$TORCH_INDEX_CUDA'}, base ${BASE_IMAGE:-pinned default}, packages from ${PIP_FROM:-index})"
if [[ -n ${DRY_RUN:-} ]]; then
  printf '%s build %s .\n' "$docker" "${args[*]}"
  exit 0
fi
start=$SECONDS
DOCKER_BUILDKIT=1 "$docker" build --progress=plain "${args[@]}" .
say "built $tag in $((SECONDS - start)) s"
