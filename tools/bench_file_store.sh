#!/usr/bin/env bash
# Times `stem schedule apply` of ENTRIES entries into the file store and
# `stem schedule list --output json` of them: median (min-max) of 5 runs each.
# The same measurement as the "Schedule files" table of docs/PERFORMANCE.md
# (tools/bench/report.py), printed without touching the doc.
# Usage: bash tools/bench_file_store.sh [ENTRIES]
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build -c opt //beat/cli:stem >/dev/null 2>&1
# A Bazel server left running keeps a core busy for a while: stopped first.
bazel shutdown >/dev/null 2>&1 || true
exec /usr/bin/python3 tools/bench/report.py --only files --runs 5 \
  --entries "${1:-100000}" --print-only
