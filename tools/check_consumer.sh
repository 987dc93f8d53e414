#!/usr/bin/env bash
# Builds examples/consumer, a separate Bazel workspace that embeds stem-beat
# through repositories.bzl (proof that docs/embedding.md's WORKSPACE snippet
# works):
# - @stem_beat//beat/specs:cron on its own (next_fire), run here;
# - a broker plugin built there with @stem_beat//tools:plugin.bzl against the
#   public plugin kit only, loaded through @stem_beat's registry and put
#   through stem-beat's broker conformance suite (counting_broker_test);
# - a Beat run in-process from @stem_beat's runner, memory store and memory
#   broker (embedded_beat, on a real clock; embedded_beat_test on its own).
set -euo pipefail
cd "$(dirname "$0")/../examples/consumer"
bazel build //:next_fire >/dev/null 2>&1 || bazel build //:next_fire
got=$(./bazel-bin/next_fire '0 9 * * 1-5' 2026-01-03T00:00:00Z)
if [[ "$got" != "2026-01-05T09:00:00+00:00" ]]; then
  echo "check_consumer: unexpected output: $got" >&2
  exit 1
fi
# The test summary lines go to stdout (.ci/run counts them); all of it on a
# failure.
tests="$(mktemp)"
if ! bazel test //:counting_broker_test //:embedded_beat_test >"$tests" 2>&1; then
  cat "$tests" >&2
  rm -f "$tests"
  exit 1
fi
grep -E '^//[^ ]+ +(\(cached\) )?PASSED' "$tests" | sed 's|^//:|//examples/consumer:|'
rm -f "$tests"

# A Beat in-process for 3.5 s on a real clock: an every:1s entry fires at
# least 3 times, each envelope once.
bazel build //:embedded_beat >/dev/null 2>&1 || bazel build //:embedded_beat
schedules="$(mktemp --suffix=.yaml)"
trap 'rm -f "$schedules"' EXIT
printf 'schedules:\n  - id: tick\n    task: demo.tick\n    spec: every:1s\n' >"$schedules"
out=$(./bazel-bin/embedded_beat "$schedules" 3.5)
held=$(sed -n 's/^broker holds \([0-9]*\) envelopes of demo.tick$/\1/p' <<<"$out")
fired=$(grep -c '^fired tick demo.tick ' <<<"$out" || true)
if [[ -z "$held" || "$held" -lt 3 || "$held" != "$fired" ]] ||
  ! grep -q '^dispatched [0-9]*, duplicates 0, failed 0$' <<<"$out"; then
  echo "check_consumer: the embedded Beat did not fire as expected:" >&2
  echo "$out" >&2
  exit 1
fi
bazel shutdown >/dev/null 2>&1 || true
echo "check_consumer: @stem_beat//beat/specs:cron builds and runs; a plugin"
echo "check_consumer: built with @stem_beat//tools:plugin.bzl passes the broker"
echo "check_consumer: conformance suite from another workspace; a Beat embedded"
echo "check_consumer: from @stem_beat//beat/core/runner fired $held times in 3.5 s"
