#!/usr/bin/env bash
# Regenerates docs/PERFORMANCE.md's report: every benchmark of stem-beat and
# the same operations on its peers (croniter, ephem, astral, Celery beat), in
# one run, each figure the median of several, with the command behind it.
#
#   tools/bench/run_all.sh            the full run (~1 hour: 1,000,000
#                                     entries in Redis and PostgreSQL)
#   tools/bench/run_all.sh --quick    fewer entries, runs and seconds
#   tools/bench/run_all.sh --only math,files   some sections (math, files,
#                                     dispatch, idle, failover)
#
# It builds the -c opt targets first and stops the Bazel server (a running
# one keeps a core busy), starts its own Redis and PostgreSQL servers on free
# loopback ports (through the benchmarks and tools/chaos/chaos.py), and
# replaces only the part of docs/PERFORMANCE.md between its markers.
set -euo pipefail
cd "$(dirname "$0")/../.."
bazel build -c opt //beat/cli:stem //:plugins //beat/specs:cron_benchmark \
  //beat/specs:solar_benchmark //beat/specs:interval_benchmark \
  //beat/core/runner:runner_benchmark //beat/core/runner:runner_drift_benchmark \
  //beat/core/runner:runner_idle_benchmark //beat/cli:redis_benchmark \
  //beat/cli:postgres_benchmark >/dev/null 2>&1 ||
  bazel build -c opt //beat/cli:stem //:plugins //beat/specs:cron_benchmark \
    //beat/specs:solar_benchmark //beat/specs:interval_benchmark \
    //beat/core/runner:runner_benchmark //beat/core/runner:runner_drift_benchmark \
    //beat/core/runner:runner_idle_benchmark //beat/cli:redis_benchmark \
    //beat/cli:postgres_benchmark
bazel shutdown >/dev/null 2>&1 || true
for module in croniter ephem astral celery; do
  /usr/bin/python3 -c "import $module" 2>/dev/null ||
    echo "run_all: the peer $module is not installed (tools/setup.sh installs it); its figures will say so" >&2
done
exec /usr/bin/python3 tools/bench/report.py "$@"
