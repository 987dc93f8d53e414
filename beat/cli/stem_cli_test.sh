#!/usr/bin/env bash
# End-to-end checks of the real `stem` binary: output, errors, exit codes.
set -u
stem="$1"
failures=0

check() {  # name, expected, actual
  if [[ "$2" != "$3" ]]; then
    echo "FAIL $1"
    echo "  expected: $2"
    echo "  actual:   $3"
    failures=$((failures + 1))
  else
    echo "ok   $1"
  fi
}

out=$("$stem" schedule dry-run --spec '30 2 * * *' --tz America/New_York \
      --from 2026-03-07T00:00:00Z --count 3)
check "dst dry-run exit" 0 $?
check "dst dry-run output" $'2026-03-07T07:30:00Z\n2026-03-08T07:00:00Z\n2026-03-09T06:30:00Z' "$out"

out=$("$stem" schedule dry-run --spec 'every:30s' --from 2026-01-01T00:00:10Z \
      --count 2 --output json)
check "json output" '["2026-01-01T00:00:30Z","2026-01-01T00:01:00Z"]' "$out"

out=$("$stem" schedule dry-run --spec 'solar:sunset@51.5,-0.12,-15m' \
      --from 2026-06-21T00:00:00Z --count 1)
check "solar dry-run" 0 $?
[[ "$out" == 2026-06-21T20:0[5-7]:* ]] || { echo "FAIL solar time: $out"; failures=$((failures + 1)); }

err=$("$stem" schedule dry-run --spec '0 0 32 * *' 2>&1 >/dev/null)
check "bad cron exit" 64 $?
check "bad cron message" \
  'stem: --spec: cron: field 3 (day of month): 32 is out of range 1-31 in "0 0 32 * *"' "$err"

"$stem" schedule dry-run >/dev/null 2>&1
check "missing --spec is a usage error" 64 $?

"$stem" frobnicate >/dev/null 2>&1
check "unknown command is a usage error" 64 $?

"$stem" schedule dry-run --help >/dev/null 2>&1
check "--help exits 0" 0 $?

[[ $failures -eq 0 ]] || { echo "$failures failure(s)"; exit 1; }
