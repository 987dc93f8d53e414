#!/usr/bin/env bash
# Fails when code in beat/core, beat/cli or the embedding example reads the
# wall or monotonic clock itself instead of through the injected Clock
# (beat/base/clock.h): absl::Now(), std::chrono's clocks, time(),
# clock_gettime, gettimeofday, absl::GetCurrentTimeNanos. Time that decides
# a firing, or how long to wait, comes from the clock its owner passed in
# (docs/architecture.md, "Where time comes from"); plugins may time their
# own connections and leases, and log lines stay in real time
# (beat/base/log.cc).
#
#   tools/check_clock.sh              check the tree
#   tools/check_clock.sh --self-test  plant a direct read in a scratch copy
#                                     and expect the check to fail on it
set -euo pipefail
cd "$(dirname "$0")/.."

PATTERN='absl::Now\(|(steady|system|high_resolution)_clock::now|GetCurrentTimeNanos|(^|[^_[:alnum:]])(std::)?time\((nullptr|NULL|0)\)|clock_gettime|gettimeofday'
SCOPE=(beat/core beat/cli examples/consumer)

# Prints the offending lines under the directories given; comments are
# skipped (a line whose code part starts with //).
offences() {
  grep -rnE --include='*.cc' --include='*.h' "$PATTERN" "$@" 2>/dev/null |
    grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true
}

if [[ "${1:-}" == "--self-test" ]]; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  mkdir -p "$scratch/beat/core/runner"
  printf '%s\n' '#include "absl/time/clock.h"' \
    'absl::Time Sneaky() { return absl::Now(); }' > "$scratch/beat/core/runner/sneaky.cc"
  printf '%s\n' 'auto t = std::chrono::steady_clock::now();' > "$scratch/beat/core/runner/sneaky2.h"
  printf '%s\n' '// absl::Now() in a comment is not a read' > "$scratch/beat/core/runner/fine.cc"
  found=$(cd "$scratch" && offences beat/core)
  if [[ $(grep -c . <<<"$found") -ne 2 ]] || grep -q fine.cc <<<"$found"; then
    echo "check_clock --self-test: expected exactly the two planted reads, got:" >&2
    echo "$found" >&2
    exit 1
  fi
  echo "check_clock --self-test: the planted reads were caught"
  exit 0
fi

found=$(offences "${SCOPE[@]}")
if [[ -n "$found" ]]; then
  echo "check_clock: a direct read of the clock (use the injected Clock, beat/base/clock.h):" >&2
  echo "$found" | sed 's/^/  /' >&2
  exit 1
fi
echo "check_clock: no direct clock read in ${SCOPE[*]}"
