#!/usr/bin/env bash
# Times `stem schedule apply` of 100,000 entries into the file store and
# `stem schedule list --output json` of them: median of 5 runs each.
# Usage: bash tools/bench_file_store.sh [ENTRIES]   (figures: docs/PERFORMANCE.md)
set -euo pipefail
cd "$(dirname "$0")/.."
entries="${1:-100000}"
bazel build -c opt //beat/cli:stem >/dev/null 2>&1
# A Bazel server left running keeps a core busy for a while: stopped first.
bazel shutdown >/dev/null 2>&1 || true
stem="$(pwd)/bazel-bin/beat/cli/stem"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
/usr/bin/python3 - "$entries" > entries.json <<'PY'
import json, sys
specs = ["*/5 * * * *", "0 9 * * 1-5", "every:30s", "every:1h",
         "solar:sunrise@51.5,-0.12", "30 2 * * *"]
n = int(sys.argv[1])
print(json.dumps([{"id": "job-%06d" % i, "task": "tasks.t%d" % (i % 50),
                   "spec": specs[i % 6], "queue": "q%d" % (i % 5),
                   "args": {"n": i},
                   "timezone": "Europe/London" if i % 3 == 0 else "UTC"}
                  for i in range(n)]))
PY
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
apply=$(for i in 1 2 3 4 5; do
  rm -rf .stem
  /usr/bin/time -o time.txt -f "%e" "$stem" schedule apply -f entries.json --yes >/dev/null 2>&1
  cat time.txt
done | median)
list=$(for i in 1 2 3 4 5; do
  /usr/bin/time -o time.txt -f "%e" "$stem" schedule list --output json >/dev/null 2>&1
  cat time.txt
done | median)
echo "entries: $entries  store file: $(du -h .stem/schedules.json | cut -f1)"
echo "apply (median of 5): ${apply}s"
echo "list --output json (median of 5): ${list}s"
