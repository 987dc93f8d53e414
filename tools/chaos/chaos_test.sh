#!/usr/bin/env bash
# The chaos tool's short run, as `bazel test` and CI run it: three real
# `stem beat` processes on one backend for 20 s of SIGKILLs, SIGSTOPs past
# the lease and (Redis, PostgreSQL) server restarts; fails on any duplicate,
# missing or early firing. Usage: chaos_test.sh STEM BACKEND [chaos flags]
set -u
stem=$1
backend=$2
shift 2
# The Beats read STEM_CLOCK_OFFSET; the checker gets it in seconds.
STEM_CLOCK_OFFSET_SECONDS=$("$TEST_CLOCK" offset) || exit 1
export STEM_CLOCK_OFFSET_SECONDS
exec python3 tools/chaos/chaos.py --stem "$(pwd)/$stem" --backend "$backend" \
  --duration 20 --beats 3 --faults kill,stop,restart --quiet "$@"
