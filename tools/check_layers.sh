#!/usr/bin/env bash
# Fails when a dependency points the wrong way between the layers of
# docs/architecture.md. Runs `bazel query` over the `deps` of every target
# (not `data`: a test or benchmark may load a plugin's .so file through the
# registry, as `stem` does). The rules:
#
#   1. a plugin package (beat/stores, beat/locks, beat/brokers) depends on
#      the runner or the service (beat/core/runner, beat/core/service);
#   2. beat/cli links a plugin library (plugins are data, loaded at run time);
#   3. beat/specs depends on anything in beat/core;
#   4. a core target that is not a test links a plugin library;
#   5. a core test links one other than through beat/core/testing (the
#      testonly package that says so);
#   6. a plugin (not its tests) links the host's registry: plugins use the
#      plugin kit only (the ABI, the SDK, model, codec).
#
#   tools/check_layers.sh              check the tree
#   tools/check_layers.sh --self-test  plant one bad dependency per rule in a
#                                      scratch package and expect each to fail
set -euo pipefail
cd "$(dirname "$0")/.."

# Plugins, and the backend clients only plugins link.
PLUGINS='(//beat/stores/... + //beat/locks/... + //beat/brokers/... + //beat/backends/...)'

# The targets reachable from $1 through `deps` alone, never entering $2.
deps_closure() {
  local roots="$1" excluded="${2:-}" query="let s0 = $1 in " i
  for i in $(seq 1 40); do
    if [[ -n "$excluded" ]]; then
      query+="let s$i = \$s$((i - 1)) + (labels(deps, \$s$((i - 1))) - $excluded) in "
    else
      query+="let s$i = \$s$((i - 1)) + labels(deps, \$s$((i - 1))) in "
    fi
  done
  query+="\$s40"
  echo "$query"
}

# A query that cannot run is an error, never an empty (passing) answer.
query() {
  local output
  if ! output=$(bazel query --noshow_progress "$1" 2>&1 >/tmp/check_layers.$$); then
    echo "check_layers: bazel query failed: $output" >&2
    rm -f /tmp/check_layers.$$
    exit 2
  fi
  cat /tmp/check_layers.$$
  rm -f /tmp/check_layers.$$
}

failures=0
# rule NAME ROOTS FORBIDDEN [EXCLUDED]
rule() {
  local name="$1" roots="$2" forbidden="$3" excluded="${4:-}"
  local found
  found=$(query "($(deps_closure "$roots" "$excluded")) intersect $forbidden")
  if [[ -n "$found" ]]; then
    echo "check_layers: FAIL: $name:" >&2
    while IFS= read -r target; do
      # Show one path to each offender, from the roots.
      local path
      path=$(query "somepath($roots, $target)" | paste -sd' ' | sed 's/ / -> /g')
      echo "  $target   (${path:-reached through deps})" >&2
    done <<<"$found"
    failures=$((failures + 1))
  else
    echo "check_layers: ok: $name"
  fi
}

check() {
  failures=0
  rule "a plugin depends on the runner, the service or observe" \
    "$PLUGINS" "(//beat/core/runner/... + //beat/core/service/... + //beat/core/observe/...)"
  rule "beat/cli links a plugin library" "//beat/cli/..." "$PLUGINS"
  rule "beat/specs depends on beat/core" "//beat/specs/..." "//beat/core/..."
  rule "a core target that is not a test links a plugin library" \
    "(//beat/core/... - kind(test, //beat/core/...) - //beat/core/testing/...)" \
    "$PLUGINS"
  rule "a core test links a plugin library other than through beat/core/testing" \
    "kind(test, //beat/core/...)" "$PLUGINS" "//beat/core/testing/..."
  rule "a plugin links the host's registry" \
    "($PLUGINS - kind(test, $PLUGINS))" "//beat/core/plugin:registry"
  return "$failures"
}

if [[ "${1:-}" != "--self-test" ]]; then
  check
  exit $?
fi

# ---- Self-test: each planted package must make exactly its rule fail ----
planted=""
cleanup() { [[ -n "$planted" ]] && rm -rf "$planted"; planted=""; }
trap cleanup EXIT

plant() {  # plant DIR BUILD-TEXT EXPECTED-RULE-TEXT
  local dir="$1" build="$2" expected="$3" output
  planted="$dir"
  mkdir -p "$dir"
  printf '%s\n' "$build" >"$dir/BUILD.bazel"
  if output=$(check 2>&1); then
    echo "check_layers: self-test FAILED: $dir was not caught" >&2
    exit 1
  fi
  if ! grep -q "FAIL: $expected" <<<"$output"; then
    echo "check_layers: self-test FAILED: $dir failed another rule:" >&2
    echo "$output" >&2
    exit 1
  fi
  echo "check_layers: self-test ok: caught \"$expected\" ($dir)"
  cleanup
}

plant beat/stores/zz_layers_self_test \
  'cc_library(name = "bad", deps = ["//beat/core/runner"])' \
  "a plugin depends on the runner, the service or observe"
plant beat/brokers/zz_layers_self_test \
  'cc_library(name = "bad", deps = ["//beat/core/service:schedule_service"])' \
  "a plugin depends on the runner, the service or observe"
plant beat/cli/zz_layers_self_test \
  'cc_library(name = "bad", deps = ["//beat/stores/memory:memory_store"])' \
  "beat/cli links a plugin library"
plant beat/specs/zz_layers_self_test \
  'cc_library(name = "bad", deps = ["//beat/core/model:limits"])' \
  "beat/specs depends on beat/core"
plant beat/core/zz_layers_self_test \
  'cc_binary(name = "bad_benchmark", testonly = True, deps = ["//beat/locks/memory:memory_locks"])' \
  "a core target that is not a test links a plugin library"
plant beat/core/zz_layers_self_test \
  'cc_test(name = "bad_test", deps = ["//beat/brokers/memory:memory_broker"])' \
  "a core test links a plugin library other than through beat/core/testing"
plant beat/locks/zz_layers_self_test \
  'cc_binary(name = "libbeat_lock_bad.so", linkshared = True, deps = ["//beat/core/plugin:registry"])' \
  "a plugin links the host's registry"
# And a clean tree passes again.
check >/dev/null
echo "check_layers: self-test passed"
