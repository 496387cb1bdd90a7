#!/usr/bin/env bash
# System tools `make bench` needs: wrk (the load generator), h2load (the gRPC row's) and a Java runtime
# (TorchServe's frontend).
# `bench/setup.sh wrk` checks wrk alone (the GPU run). Installs what is missing with apt when run as root on
# Debian/Ubuntu; elsewhere says what to install.
set -euo pipefail
wanted=("${@:-wrk h2load java}")
read -r -a wanted <<<"${wanted[*]}"
missing=()
for tool in "${wanted[@]}"; do
  case "$tool" in
    wrk) command -v wrk >/dev/null || missing+=(wrk) ;;
    h2load) command -v h2load >/dev/null || missing+=(nghttp2-client) ;;
    java) command -v java >/dev/null || missing+=(openjdk-17-jre-headless) ;;
    *) echo "bench/setup.sh: unknown tool $tool" >&2; exit 2 ;;
  esac
done
((${#missing[@]})) || exit 0
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
else
  echo "make bench needs: ${missing[*]} (Debian/Ubuntu: sudo apt-get install ${missing[*]}; macOS: brew install wrk nghttp2 openjdk@17)" >&2
  exit 1
fi
