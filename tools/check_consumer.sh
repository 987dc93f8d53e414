#!/usr/bin/env bash
# Builds examples/consumer, a separate Bazel workspace that embeds
# @stem_beat//beat/specs:cron through repositories.bzl, and runs it: proof
# that the WORKSPACE snippet in README.md works.
set -euo pipefail
cd "$(dirname "$0")/../examples/consumer"
bazel build //:next_fire >/dev/null 2>&1 || bazel build //:next_fire
got=$(./bazel-bin/next_fire '0 9 * * 1-5' 2026-01-03T00:00:00Z)
if [[ "$got" != "2026-01-05T09:00:00+00:00" ]]; then
  echo "check_consumer: unexpected output: $got" >&2
  exit 1
fi
bazel shutdown >/dev/null 2>&1 || true
echo "check_consumer: @stem_beat//beat/specs:cron builds and runs from another workspace"
