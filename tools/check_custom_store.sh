#!/usr/bin/env bash
# Builds examples/custom_store, a third party's SQLite store plugin in a
# workspace of its own, runs stem-beat's store conformance suite on it there,
# and then drives it from our `stem` through STEM_PLUGIN_PATH:
# schedule apply, schedule list, beat --once and schedule history against a
# sqlite: store. Fails on any step that does not do what a user expects.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fail() {
  echo "check_custom_store: FAIL: $*" >&2
  exit 1
}

cd "$root/examples/custom_store"
# The test summary line goes to stdout (.ci/run counts it); all of it on a
# failure.
tests="$(mktemp)"
if ! bazel test //:sqlite_store_test >"$tests" 2>&1; then
  cat "$tests" >&2
  rm -f "$tests"
  exit 1
fi
grep -E '^//[^ ]+ +(\(cached\) )?PASSED' "$tests" | sed 's|^//:|//examples/custom_store:|'
rm -f "$tests"
bazel build //:plugin >/dev/null 2>&1 || bazel build //:plugin
plugins="$(cd bazel-bin && pwd -P)"
bazel shutdown >/dev/null 2>&1 || true
grep -q "PASSED\|OK \]" bazel-testlogs/sqlite_store_test/test.log ||
  fail "the conformance suite did not run"

cd "$root"
bazel build //beat/cli:stem >/dev/null 2>&1 || bazel build //beat/cli:stem
stem="$root/bazel-bin/beat/cli/stem"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export STEM_PLUGIN_PATH="$plugins"
store="sqlite://$work/schedules.db"

"$stem" plugins list | grep -q "^store  *sqlite  *sqlite .*$plugins/libbeat_store_sqlite.so" ||
  fail "stem plugins list does not show the sqlite plugin: $("$stem" plugins list)"

cat >due.yaml <<'YAML'
schedules:
  - id: tick
    task: demo.tick
    spec: every:1s
  - id: nightly
    task: demo.nightly
    spec: "0 3 * * *"
    timezone: Europe/Paris
YAML
"$stem" --store "$store" schedule apply -f due.yaml --yes >apply.out 2>&1 ||
  fail "apply: $(cat apply.out)"
grep -q "2 created" apply.out || fail "apply said: $(cat apply.out)"
"$stem" --store "$store" schedule list >list.out
grep -q "^tick  *demo.tick" list.out || fail "list: $(cat list.out)"
grep -q "^nightly  *demo.nightly .*Europe/Paris" list.out ||
  fail "list: $(cat list.out)"

sleep 1.2  # tick is due
"$stem" --store "$store" beat --once >beat.out 2>beat.err ||
  fail "beat --once: $(cat beat.err)"
grep -q '"name":"demo.tick"' beat.out || fail "no envelope of demo.tick: $(cat beat.out)"
grep -q "1 dispatched" beat.err || fail "beat --once said: $(cat beat.err)"
"$stem" --store "$store" --output json schedule list >after.json
python3 - after.json <<'PY'
import json, sys
entries = {e["id"]: e for e in json.load(open(sys.argv[1]))}
assert entries["tick"]["totalRunCount"] == 1, entries["tick"]
assert entries["tick"]["version"] == 2, entries["tick"]
assert entries["nightly"].get("totalRunCount", 0) == 0, entries["nightly"]
PY
"$stem" --store "$store" schedule history tick | grep -q " ok " ||
  fail "history of tick: $("$stem" --store "$store" schedule history tick)"

# A bad URL is the plugin's clear refusal, exit 64, nothing created.
if "$stem" --store "sqlite://host/x.db" schedule list >bad.out 2>&1; then
  fail "a sqlite URL with a host was taken"
fi
grep -q "sqlite:///absolute/path.db" bad.out || fail "bad URL said: $(cat bad.out)"

echo "check_custom_store: the sqlite store plugin passes the conformance suite"
echo "check_custom_store: in its own workspace, and stem applies, lists, fires"
echo "check_custom_store: and records history through it (STEM_PLUGIN_PATH)"
