#!/usr/bin/env bash
# The README's two commands, run as a newcomer would: in a clean Debian container that holds only what the
# README names as prerequisites, from a fresh clone of this repository's HEAD.
#
#   scripts/newcomer.sh                    (make newcomer; .ci/run runs it)
#   scripts/newcomer.sh --print-commands   only print the commands it would run, read from the README
#
# The commands are read from the README's first screen (the first ```bash block after "On a fresh machine",
# then the curl block after it), so this check follows the README rather than a copy of it. It fails if a
# command fails, if the server is not ready in time, or if the curl's answer is not label 0, and prints how
# long each step took.
#
# What the container gets beyond the offline Debian base image (python3 with venv, CA certificates):
#   - the prerequisites the README's first screen names (NEWCOMER_PACKAGES, Debian package names);
#   - the torch CPU wheel alone, from ./wheelhouse (make wheelhouse), standing in for the PyTorch CPU index
#     that a real machine would use; every other package comes from the real index, with a cold cache;
#   - CA_CERT: a PEM bundle trusted for TLS (pip, npm, git), as on a network with an intercepting proxy.
# Environment: NEWCOMER_BASE (default liftoff-base:bookworm-py311, made by scripts/offline-base-image.sh),
# NEWCOMER_READY_S (default 1200: first setup of .venv included), NEWCOMER_KEEP=1 keeps the container.
set -euo pipefail
cd "$(dirname "$0")/.."

base=${NEWCOMER_BASE:-liftoff-base:bookworm-py311}
packages=${NEWCOMER_PACKAGES:-make git curl}
ready_s=${NEWCOMER_READY_S:-1200}
image=liftoff-newcomer:prereqs
say() { printf 'newcomer: %s\n' "$*" >&2; }

# ---- what the README says a newcomer runs ------------------------------------------------------------
# Prints the lines of the first ```bash block after the line matching $1, comments and blanks removed.
readme_block() {
  awk -v after="$1" '
    index($0, after) { found = 1; next }
    found && /^```bash/ { inside = 1; next }
    inside && /^```/ { exit }
    inside { sub(/[[:space:]]+#.*$/, ""); if (length($0)) print }
  ' README.md
}
mapfile -t commands < <(readme_block "On a fresh machine")
curl_command=$(readme_block "Then, from another terminal" | sed -e ':a' -e '/\\$/N; s/\\\n[[:space:]]*/ /; ta')
((${#commands[@]} == 2)) || { say "expected two commands on the README's first screen, found: ${commands[*]}"; exit 1; }
[[ $curl_command == curl* ]] || { say "expected a curl command after the two commands, found: $curl_command"; exit 1; }
if [[ ${1:-} == --print-commands ]]; then
  printf '%s\n' "${commands[@]}" "$curl_command"
  exit 0
fi
say "the README's commands: '${commands[0]}', '${commands[1]}'; then: ${curl_command:0:60}..."

# ---- the container: base image + the named prerequisites ---------------------------------------------
torch_pin=$(sed -nE 's/^torch==([0-9.]+)$/\1/p' requirements/constraints.txt)
shopt -s nullglob
torch_wheels=(wheelhouse/torch-"$torch_pin"+cpu-*.whl)
shopt -u nullglob
((${#torch_wheels[@]})) || { say "no torch $torch_pin CPU wheel in wheelhouse/ (make wheelhouse)"; exit 1; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/liftoff-newcomer.XXXXXX")
container=liftoff-newcomer-$$
cleanup() {
  [[ ${NEWCOMER_KEEP:-0} == 1 ]] || docker rm -f "$container" >/dev/null 2>&1 || true
  rm -rf "$scratch"
}
trap cleanup EXIT
mkdir "$scratch/wheels"
cp "${torch_wheels[@]}" "$scratch/wheels/"
git bundle create "$scratch/liftoff.bundle" HEAD >/dev/null 2>&1

tls_env=()
mounts=(-v "$scratch:/newcomer:ro")
if [[ -n ${CA_CERT:-} ]]; then
  [[ -r $CA_CERT ]] || { say "CA_CERT=$CA_CERT cannot be read"; exit 1; }
  mounts+=(-v "$(realpath "$CA_CERT"):/newcomer-ca.pem:ro")
  for var in PIP_CERT SSL_CERT_FILE REQUESTS_CA_BUNDLE NODE_EXTRA_CA_CERTS GIT_SSL_CAINFO CURL_CA_BUNDLE; do
    tls_env+=(-e "$var=/newcomer-ca.pem")
  done
fi

say "preparing $image: $base + $packages"
docker rm -f "$container-setup" >/dev/null 2>&1 || true
docker run --name "$container-setup" "${tls_env[@]}" "${mounts[@]}" -e DEBIAN_FRONTEND=noninteractive "$base" \
  sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $packages >/dev/null \
         && rm -rf /var/lib/apt/lists/*"
docker commit "$container-setup" "$image" >/dev/null
docker rm "$container-setup" >/dev/null

# The clone and the commands run as root, as on a fresh cloud VM or CI runner: `make test` may then install
# its OS packages itself. PIP_FIND_LINKS offers the torch wheel; nothing else of this machine goes in.
docker run -d --name "$container" "${tls_env[@]}" "${mounts[@]}" -e PIP_FIND_LINKS=/newcomer/wheels \
  -w /root "$image" sleep infinity >/dev/null
in_container() { docker exec "$container" bash -c "$1"; }
in_container 'git clone -q /newcomer/liftoff.bundle liftoff'

elapsed() { printf '%d min %02d s' $(($1 / 60)) $(($1 % 60)); }
report=()

# ---- command 1: the server, in the background until the README's curl answers -------------------------
start=$SECONDS
# The minimal base has no pgrep: the command's PID goes in a file.
docker exec -d "$container" bash -c "cd liftoff && echo \$\$ >/root/serve.pid && exec ${commands[0]} >/root/serve.log 2>&1"
until in_container 'curl -sf -o /dev/null http://127.0.0.1:8080/readyz'; do
  if ((SECONDS - start > ready_s)); then
    in_container 'tail -n 30 /root/serve.log' >&2 || true
    say "'${commands[0]}' was not ready after $ready_s s"
    exit 1
  fi
  if ! in_container 'kill -0 "$(cat /root/serve.pid)" 2>/dev/null'; then
    in_container 'tail -n 30 /root/serve.log' >&2 || true
    say "'${commands[0]}' stopped before it was ready"
    exit 1
  fi
  sleep 5
done
say "${commands[0]}: ready after $(elapsed $((SECONDS - start)))"
report+=("${commands[0]}: ready after $(elapsed $((SECONDS - start)))")

answer=$(in_container "cd liftoff && $curl_command")
label=$(printf '%s' "$answer" | python3 -c 'import json, sys; print(json.load(sys.stdin)["predictions"][0]["label"])') ||
  { say "the README's curl did not answer with a prediction: ${answer:0:200}"; exit 1; }
[[ $label == 0 ]] || { say "the README's curl answered label $label, not 0"; exit 1; }
report+=("the README's curl: label $label")
# Ctrl-C, as the newcomer would press it: to every process but the container's init (and this shell).
in_container 'kill -INT -1; for _ in $(seq 60); do kill -0 "$(cat /root/serve.pid)" 2>/dev/null || exit 0; sleep 0.5; done; exit 1' ||
  { say "'${commands[0]}' did not stop on SIGINT"; exit 1; }

# ---- command 2: every test -------------------------------------------------------------------------------
start=$SECONDS
mkdir -p out/newcomer
log=out/newcomer/make-test.log
if ! in_container "cd liftoff && ${commands[1]}" >"$log" 2>&1; then
  grep -E '^(FAILED|ERROR) ' "$log" >&2 || tail -n 60 "$log" >&2
  say "the whole output: $log"
  say "'${commands[1]}' failed in the clean container after $(elapsed $((SECONDS - start)))"
  exit 1
fi
tail -n 1 "$log" >&2
report+=("${commands[1]}: passed in $(elapsed $((SECONDS - start)))")

for line in "${report[@]}"; do say "$line"; done
