#!/usr/bin/env bash
# Makes sure a Docker engine answers, for `make image-test` and CI on a bare Debian machine.
#
# If `docker info` already works, nothing changes. Otherwise, on a machine with apt and root, it installs
# docker.io and debootstrap where missing and starts dockerd in the background (logging to a file) and
# waits for its socket. It never stops an engine it did not start; `--stop` stops only the one whose
# PID file this script wrote.
#
# Exit status: 0 when an engine answers, 3 when none can be started here (no apt, not root, dockerd
# refused to start), so callers can tell "no engine on this machine" from a failed image test.
set -euo pipefail

log=${DOCKERD_LOG:-/tmp/liftoff-dockerd.log}
pidfile=${DOCKERD_PIDFILE:-/tmp/liftoff-dockerd.pid}
wait_s=${DOCKERD_WAIT_S:-60}

say() { printf 'docker-engine: %s\n' "$*" >&2; }

engine_answers() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

if [[ ${1:-} == --stop ]]; then
  if [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill -TERM "$(cat "$pidfile")"
    say "stopped dockerd $(cat "$pidfile")"
  fi
  rm -f "$pidfile"
  exit 0
fi

if engine_answers; then
  exit 0
fi

install_missing() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  ((${#missing[@]})) || return 0
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    say "no Docker engine and cannot install ${missing[*]} (needs root and apt-get)"
    return 3
  fi
  say "installing ${missing[*]} from the Debian archive"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt run (a colleague, CI's own list) may hold the lock: wait for it rather than fail.
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}"
}
install_missing || exit 3

if ! command -v dockerd >/dev/null; then
  say "dockerd is not installed"
  exit 3
fi

# An engine may already be running with its socket somewhere docker does not look; we only start one
# when no dockerd process exists at all, so we never fight over /var/lib/docker.
if pidof dockerd >/dev/null; then
  say "a dockerd process exists but 'docker info' fails; see its log"
  exit 3
fi

say "starting dockerd (log: $log)"
nohup dockerd >"$log" 2>&1 &
echo $! >"$pidfile"

for ((i = 0; i < wait_s * 2; i++)); do
  if engine_answers; then
    say "engine up after $((i / 2)) s"
    exit 0
  fi
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    say "dockerd exited; last lines of $log:"
    tail -n 20 "$log" >&2
    rm -f "$pidfile"
    exit 3
  fi
  sleep 0.5
done
say "dockerd did not answer within ${wait_s} s; last lines of $log:"
tail -n 20 "$log" >&2
exit 3
