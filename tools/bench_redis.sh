#!/usr/bin/env bash
# Beat on Redis at scale (beat/cli/redis_benchmark.cc): load, Redis memory
# per entry, Due with none due, 100,000 due at once dispatched by one, two
# and three Beats, and an idle `stem beat`'s CPU and peak RSS.
# Usage: bash tools/bench_redis.sh [ENTRIES] [DUE]   (figures: docs/PERFORMANCE.md)
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build -c opt //beat/cli:redis_benchmark //beat/cli:stem >/dev/null 2>&1
# A Bazel server left running keeps a core busy for a while: stopped first.
bazel shutdown >/dev/null 2>&1 || true
cd bazel-bin/beat/cli/redis_benchmark.runfiles/stem_beat
exec ../../redis_benchmark "$(pwd)/../../stem" "${1:-1000000}" "${2:-100000}"
