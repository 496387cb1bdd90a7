#!/usr/bin/env bash
# Runs inside the image build (see Dockerfile): pip-install VENV [pip install arguments...]
#
# Installs into VENV with the builder's tool pip, binary wheels only (the builder has no compilers),
# pinned by constraints-image.txt. Where packages come from is the build's choice:
#   PIP_FROM=index       PyPI plus PyTorch's index for VARIANT (cpu | cuda); their local version labels
#                        (+cpu, +cu126) rank above PyPI's plain torch, so the variant's build wins. An empty
#                        TORCH_INDEX_CUDA means PyPI alone, whose Linux torch is a CUDA build (see Dockerfile).
#   PIP_FROM=wheelhouse  only the wheels in the build context's wheelhouse/ folder, no index at all.
# A corporate CA mounted as the BuildKit secret `ca` is appended to the system bundle for these steps only.
set -euo pipefail

venv=$1
shift
say() { printf 'pip-install: %s\n' "$*" >&2; }

case ${VARIANT:-cpu} in
  cpu) torch_index=$TORCH_INDEX_CPU ;;
  cuda) torch_index=$TORCH_INDEX_CUDA ;;
  *)
    say "VARIANT must be cpu or cuda, not '${VARIANT}'"
    exit 2
    ;;
esac
# The torch build is named by the index's last path segment (.../whl/cpu -> 2.13.0+cpu): pinning the local
# label too means no other build (PyPI's, or another variant's wheel in the wheelhouse) can stand in.
# An empty index means PyPI's own default build, which has no label: `===` (exact string equality) pins
# the plain version, so no labelled build can stand in for it either.
torch_index=${torch_index%/}
torch_pin=$(grep -E '^torch==' constraints-image.txt)
variant_constraint=$(mktemp)
if [[ -n $torch_index ]]; then
  printf '%s+%s\n' "$torch_pin" "${torch_index##*/}" >"$variant_constraint"
else
  printf 'torch===%s\n' "${torch_pin#torch==}" >"$variant_constraint"
fi

case ${PIP_FROM:-index} in
  wheelhouse)
    if ! compgen -G '/wheelhouse/*.whl' >/dev/null; then
      say "PIP_FROM=wheelhouse but wheelhouse/ holds no wheels: run 'make wheelhouse' first"
      exit 2
    fi
    source_args=(--no-index --find-links /wheelhouse)
    ;;
  index) source_args=(${torch_index:+--extra-index-url "$torch_index"}) ;;
  *)
    say "PIP_FROM must be index or wheelhouse, not '${PIP_FROM}'"
    exit 2
    ;;
esac

if [[ -s /run/secrets/ca ]]; then
  bundle=$(mktemp)
  if [[ -r /etc/ssl/certs/ca-certificates.crt ]]; then
    cat /etc/ssl/certs/ca-certificates.crt >"$bundle"
  fi
  cat /run/secrets/ca >>"$bundle"
  export PIP_CERT=$bundle SSL_CERT_FILE=$bundle
  say "trusting the CA from the build secret 'ca' for this step"
fi

/opt/pip/bin/pip --python "$venv/bin/python" install --only-binary=:all: \
  -c constraints-image.txt -c "$variant_constraint" "${source_args[@]}" "$@"
