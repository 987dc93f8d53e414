#!/usr/bin/env bash
# Installs every Debian package stem-beat needs to build and test, at the
# exact versions pinned in tools/packages.lock (tools/refresh_package_lock.sh
# rewrites it from what is installed). Idempotent: quiet when everything is
# there at its pinned version; runs `apt-get update` only when a package is
# missing. Needs root (or sudo).
#
# A package installed at another version than the lock's, or one whose pinned
# version the archive no longer has (Debian replaces a version at each point
# release), is named with both versions; the build goes on with the one
# there. STEM_BEAT_STRICT_PACKAGES=1 makes either an error instead.
#
#   tools/setup.sh            install what is missing, say what differs
#   tools/setup.sh --check    install nothing; exit 1 if anything is missing
#                             or differs from the lock
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

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
  libsimdjson-dev
  libssl-dev
  tzdata
  # The memory allocator of the binaries (`stem`, the benchmarks): gperftools'
  # tcmalloc, whose thread caches make Beat's per-firing allocations cheap
  # (docs/PERFORMANCE.md). Sanitizer and fuzzer builds keep glibc's.
  libgoogle-perftools-dev
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
  # The example third-party store plugin (examples/custom_store); the
  # install's search paths (tools/install.sh: chrpath) and the .deb
  # (tools/package_deb.sh: dpkg-shlibdeps for its Depends).
  libsqlite3-dev
  chrpath
  dpkg-dev
  # The suite's second pass with the clock moved years ahead
  # (STEM_CLOCK_OFFSET): the Redis and PostgreSQL servers the tests start
  # run under libfaketime, moved by the same offset.
  faketime
  libfaketime
  # Format checks and the golden-data generators in tools/golden.
  clang-format
  python3
  python3-croniter
  python3-ephem
  python3-astral
  # Celery beat, the peer tools/bench/run_all.sh measures beside Beat.
  python3-celery
)

# Sourced by tools/refresh_package_lock.sh for the list alone.
[[ "${STEM_BEAT_SETUP_LIST_ONLY:-}" == 1 ]] && return 0

check_only=0
[[ "${1:-}" == "--check" ]] && check_only=1
strict="${STEM_BEAT_STRICT_PACKAGES:-0}"

declare -A pinned=()
while read -r package version; do
  [[ -z "$package" || "$package" == \#* ]] && continue
  pinned[$package]="$version"
done <packages.lock

differs=0
missing=()
for package in "${PACKAGES[@]}"; do
  if [[ -z "${pinned[$package]:-}" ]]; then
    echo "tools/setup.sh: $package is not in tools/packages.lock (run tools/refresh_package_lock.sh)" >&2
    exit 1
  fi
  status=$(dpkg-query -W -f='${Status} ${Version}' "$package" 2>/dev/null || true)
  if [[ "$status" != "install ok installed "* ]]; then
    missing+=("$package")
    continue
  fi
  installed="${status#install ok installed }"
  if [[ "$installed" != "${pinned[$package]}" ]]; then
    echo "tools/setup.sh: $package is $installed here; tools/packages.lock pins ${pinned[$package]}" >&2
    differs=1
  fi
done

if [[ $check_only -eq 1 ]]; then
  [[ ${#missing[@]} -eq 0 ]] || echo "tools/setup.sh: missing: ${missing[*]}" >&2
  [[ ${#missing[@]} -eq 0 && $differs -eq 0 ]]
  exit
fi
if [[ $differs -eq 1 && "$strict" == 1 ]]; then
  echo "tools/setup.sh: STEM_BEAT_STRICT_PACKAGES=1: refusing other versions than the lock's" >&2
  exit 1
fi
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# Each missing package at its pinned version when the archive has it.
wanted=()
for package in "${missing[@]}"; do
  version="${pinned[$package]}"
  if apt-cache madison "$package" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' |
    grep -qxF "$version"; then
    wanted+=("$package=$version")
  else
    candidate=$(apt-cache policy "$package" 2>/dev/null | sed -n 's/^ *Candidate: //p')
    echo "tools/setup.sh: $package: the archive has ${candidate:-no version}, not ${version} (pinned in tools/packages.lock)" >&2
    if [[ "$strict" == 1 || -z "$candidate" || "$candidate" == "(none)" ]]; then
      exit 1
    fi
    wanted+=("$package")
  fi
done
echo "tools/setup.sh: installing ${wanted[*]}"
if ! $sudo apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null; then
  # A pinned version may need a dependency older than the one installed.
  [[ "$strict" == 1 ]] && exit 1
  echo "tools/setup.sh: the pinned versions do not install together here; installing the archive's versions of ${missing[*]}" >&2
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
