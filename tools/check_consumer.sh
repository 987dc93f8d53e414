#!/usr/bin/env bash
# Builds examples/consumer, a separate Bazel workspace that embeds stem-beat
# through repositories.bzl (proof that README.md's WORKSPACE snippet works):
# - @stem_beat//beat/specs:cron on its own (next_fire), run here;
# - a broker plugin built there with @stem_beat//tools:plugin.bzl against the
#   public plugin kit only, loaded through @stem_beat's registry and put
#   through stem-beat's broker conformance suite (counting_broker_test).
set -euo pipefail
cd "$(dirname "$0")/../examples/consumer"
bazel build //:next_fire >/dev/null 2>&1 || bazel build //:next_fire
got=$(./bazel-bin/next_fire '0 9 * * 1-5' 2026-01-03T00:00:00Z)
if [[ "$got" != "2026-01-05T09:00:00+00:00" ]]; then
  echo "check_consumer: unexpected output: $got" >&2
  exit 1
fi
bazel test //:counting_broker_test >/dev/null 2>&1 ||
  bazel test --test_output=errors //:counting_broker_test
bazel shutdown >/dev/null 2>&1 || true
echo "check_consumer: @stem_beat//beat/specs:cron builds and runs, and a plugin"
echo "check_consumer: built with @stem_beat//tools:plugin.bzl passes the broker"
echo "check_consumer: conformance suite from another workspace"
