#!/usr/bin/env bash
# Makes a local Debian bookworm + Python 3.11 base image with debootstrap, for networks where no container
# registry can be reached (air-gapped, or a proxy that blocks registries). Only a Debian mirror is needed.
#
#   scripts/offline-base-image.sh [IMAGE]         default IMAGE: liftoff-base:bookworm-py311
#
# Then build with it: make image BASE_IMAGE=liftoff-base:bookworm-py311
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian; point it at your internal mirror),
# FORCE=1 to rebuild an image that already exists.
#
# The image holds what the Dockerfile expects of a Python base: python3 (3.11) with venv/ensurepip and
# the CA certificates; no compilers. Debian's python lives at /usr/bin/python3, the official image's at
# /usr/local/bin/python3: the Dockerfile only calls `python3` from PATH, so either works.
set -euo pipefail

image=${1:-liftoff-base:bookworm-py311}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm

say() { printf 'offline-base-image: %s\n' "$*" >&2; }

if [[ ${FORCE:-0} != 1 ]] && docker image inspect "$image" >/dev/null 2>&1; then
  say "$image exists (FORCE=1 rebuilds it)"
  exit 0
fi
command -v debootstrap >/dev/null || { say "debootstrap is missing (apt-get install debootstrap)"; exit 1; }
[[ $(id -u) -eq 0 ]] || { say "debootstrap needs root"; exit 1; }

root=$(mktemp -d "${TMPDIR:-/tmp}/liftoff-rootfs.XXXXXX")
trap 'rm -rf --one-file-system "$root"' EXIT

say "debootstrap $suite from $mirror into $root"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  "$suite" "$root" "$mirror" >"$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"

# What a container never needs: package caches and lists, docs, man pages, locales beyond C.UTF-8.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
  "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
find "$root"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +

version=$(chroot "$root" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[[ $version == 3.11 ]] || { say "expected Python 3.11 in bookworm, got $version"; exit 1; }

tar -C "$root" --numeric-owner -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  --message "debootstrap --variant=minbase $suite (python3 $version) by scripts/offline-base-image.sh" \
  - "$image" >/dev/null
say "made $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1 / 1e6}'))"
