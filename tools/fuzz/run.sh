#!/usr/bin/env bash
# Builds every fuzzer (targets tagged "fuzzer") with --config=fuzz (clang,
# libFuzzer, AddressSanitizer, UndefinedBehaviorSanitizer) and runs each on
# a copy of its seed corpus (<package>/corpus/<name without _fuzzer>).
#
#   tools/fuzz/run.sh                      20,000 inputs each (what CI runs)
#   tools/fuzz/run.sh --runs 1000000       more inputs
#   tools/fuzz/run.sh --time 3600 cron     an hour, the cron fuzzer only
#
# A crash leaves its input in $ARTIFACTS (default /tmp/stem-beat-fuzz) and
# fails the run; copy that input into the fuzzer's corpus directory, where
# `bazel test` replays it for ever after.
set -uo pipefail
cd "$(dirname "$0")/../.."
runs=20000
seconds=0
only=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --time) seconds="$2"; runs=-1; shift 2 ;;
    *) only+=("$1"); shift ;;
  esac
done
artifacts="${ARTIFACTS:-/tmp/stem-beat-fuzz}"
mkdir -p "$artifacts"
mapfile -t targets < <(bazel query 'attr(tags, "fuzzer", //beat/...)' 2>/dev/null)
if [[ ${#only[@]} -gt 0 ]]; then
  wanted=()
  for target in "${targets[@]}"; do
    for name in "${only[@]}"; do
      [[ "$target" == *":${name}_fuzzer" || "$target" == *":${name}" ]] && wanted+=("$target")
    done
  done
  targets=("${wanted[@]}")
fi
[[ ${#targets[@]} -gt 0 ]] || { echo "fuzz: no fuzzers found"; exit 1; }
bazel build --config=fuzz "${targets[@]}" || { echo "fuzz: build failed"; exit 1; }
bin="$(bazel info --config=fuzz bazel-bin 2>/dev/null)"
status=0
for target in "${targets[@]}"; do
  package="${target#//}"; package="${package%%:*}"
  name="${target##*:}"
  seeds="$package/corpus/${name%_fuzzer}"
  corpus="$(mktemp -d)"
  cp -r "$seeds"/. "$corpus"/
  limit=(-runs="$runs")
  [[ "$seconds" -gt 0 ]] && limit=(-max_total_time="$seconds")
  echo "fuzz: $name (${limit[*]})"
  if ! "$bin/$package/$name" "${limit[@]}" -max_len=8192 -timeout=20 \
      -rss_limit_mb=2560 -print_final_stats=1 \
      -artifact_prefix="$artifacts/$name-" "$corpus" >"$corpus.log" 2>&1; then
    echo "fuzz: $name FAILED; its input is in $artifacts (log below)"
    tail -60 "$corpus.log"
    status=1
  else
    grep -E "^stat::number_of_executed_units|^Done" "$corpus.log" | tail -2
  fi
  rm -rf "$corpus" "$corpus.log"
done
exit $status
