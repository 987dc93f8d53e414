#!/usr/bin/env bash
# Installs every Debian package stem-beat needs to build and test.
# Idempotent: quiet when everything is there; runs `apt-get update` only when
# a package is missing. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  # Build: Debian's offline Bazel and a C++17 compiler.
  bazel-bootstrap
  bazel-rules-java
  g++
  # Libraries (docs/architecture.md lists what each is for).
  libabsl-dev
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  libcli11-dev
  libprotobuf-dev
  protobuf-compiler
  libyaml-cpp-dev
  libssl-dev
  tzdata
  # The Redis plugins (hiredis 0.14) and the real servers their tests start.
  libhiredis-dev
  redis-server
  redis-tools
  python3-redis
  # The PostgreSQL plugins (libpq) and the real server their tests start
  # (as the unprivileged `postgres` user this package creates).
  libpq-dev
  postgresql
  # Beat's HTTP endpoint (civetweb), systemd's notify protocol (sd_notify:
  # Type=notify, WatchdogSec=), and the tools their tests check them with:
  # promtool (the metrics exposition), curl, and headless chromium (the
  # dashboard's browser test).
  libcivetweb-dev
  libsystemd-dev
  prometheus
  curl
  chromium
  # Sanitizers and fuzzers: clang (ThreadSanitizer, libFuzzer) and its
  # runtimes; gcc's come with g++.
  clang
  libclang-rt-14-dev
  # Format checks and the golden-data generators in tools/golden.
  clang-format
  python3
  python3-croniter
  python3-ephem
  python3-astral
)

missing=()
for package in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
echo "tools/setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
