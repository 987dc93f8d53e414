#!/usr/bin/env bash
# SIGTERM in the middle of a big dispatch, on Redis: 100,000 entries fall
# due at once; the Beat is stopped after 20,000 firings. It must end
# cleanly with every firing it claimed either finished (published and
# committed) or given back (no claim left behind), and a second Beat must
# then send the rest: each of the 100,000 firings exactly once.
set -u
stem="$(pwd)/$1"
# Time comes from the clock stem reads (STEM_CLOCK_OFFSET), never `date`.
test_clock="$(pwd)/$TEST_CLOCK"
clock() { "$test_clock" now "$@"; }
count=${2:-100000}
work="${TEST_TMPDIR:-$(mktemp -d)}/redis-shutdown"
mkdir -p "$work" && cd "$work" || exit 1
unset STEM_SCHEDULE_STORE_URL STEM_SCHEDULE_FILE STEM_BROKER_URL STEM_LOCK_STORE_URL
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
ok() { echo "ok   $*"; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --save '' \
  --appendonly no --daemonize no --logfile "$work/redis.log" &
redis_pid=$!
beat_pid=
cleanup() {
  [[ -n $beat_pid ]] && kill -KILL "$beat_pid" 2>/dev/null
  kill -KILL "$redis_pid" 2>/dev/null
}
trap cleanup EXIT
cli() { redis-cli -p "$port" "$@"; }
for _ in $(seq 100); do
  [[ $(cli ping 2>/dev/null) == PONG ]] && break
  sleep 0.05
done
url="redis://127.0.0.1:$port/0?namespace=sd"
stream=sd:stream:default

# One firing each, all at the same instant, an hour ahead: the Beats run
# with their clocks an hour ahead (the test-only --clock-offset), so that
# all are due at once however long the apply took.
python3 - "$count" "$(clock +1h iso_ms)" <<'PY'
import sys
at = sys.argv[2]
with open("schedules.yaml", "w") as out:
    for i in range(int(sys.argv[1])):
        out.write('- id: e%06d\n  task: t.once\n  spec: {kind: clocked, runAt: "%s"}\n'
                  '  misfireGrace: 1h\n' % (i, at))
PY
"$stem" --store "$url" schedule apply -f schedules.yaml --yes >apply.out 2>&1 \
  || { cat apply.out; echo "FAIL apply"; exit 1; }

# Holds until the stream has at least $1 envelopes (at most $2 s).
wait_for_stream() {
  local deadline=$((SECONDS + $2)) n=0
  while ((SECONDS < deadline)); do
    n=$(cli xlen "$stream")
    ((n >= $1)) && return 0
    sleep 0.05
  done
  return 1
}
# Firings the store counted (sum of totalRunCount), and entries counted more
# than once.
store_counts() {
  "$stem" --store "$url" --output json schedule list >list.json 2>list.err \
    || { cat list.err; return 1; }
  python3 -c '
import json
entries = json.load(open("list.json"))
counts = [int(e.get("totalRunCount") or 0) for e in entries]
print(sum(counts), sum(1 for c in counts if c > 1))'
}
# Envelope ids in the stream, and how many of them are repeats.
stream_ids() {
  cli --raw xrange "$stream" - + | awk 'prev == "id" { print } { prev = $0 }' \
    | sort | uniq -d | wc -l
}

"$stem" --store "$url" beat --broker "$url" --clock-offset 1h >beat1.log 2>&1 &
beat_pid=$!
wait_for_stream $((count / 5)) 120 \
  || fail "the first Beat did not reach $((count / 5)) firings: $(tail -3 beat1.log)"
kill -TERM "$beat_pid"
timeout 60 tail --pid="$beat_pid" -f /dev/null
wait "$beat_pid"
code=$?
beat_pid=
[[ $code -eq 0 ]] && ok "SIGTERM mid-dispatch: exit 0" || fail "exit $code: $(tail -3 beat1.log)"
grep -q "stopped; totals:" beat1.log && ok "it said it stopped" || fail "no stop line: $(tail -3 beat1.log)"
sent=$(cli xlen "$stream")
read -r counted repeated < <(store_counts)
((sent < count)) && ok "stopped after $sent of $count firings" \
  || fail "it sent all $count before the SIGTERM took effect: nothing was cut short"
[[ $counted == "$sent" ]] && ok "every firing it sent is committed ($counted)" \
  || fail "the stream has $sent envelopes, the store counts $counted"
claims=$(cli --scan --pattern 'sd:*:lock' | wc -l)
[[ $claims -eq 0 ]] && ok "no claim left behind" || fail "$claims claims left behind"

"$stem" --store "$url" beat --broker "$url" --clock-offset 1h >beat2.log 2>&1 &
beat_pid=$!
wait_for_stream "$count" 240 || fail "the second Beat sent only $(cli xlen "$stream") of $count"
sleep 1  # commits of the last firings
kill -TERM "$beat_pid"
wait "$beat_pid"
beat_pid=
read -r counted repeated < <(store_counts)
total=$(cli xlen "$stream")
repeats=$(stream_ids)
[[ $total == "$count" && $repeats == 0 ]] && ok "all $count firings in the stream, each once" \
  || fail "$total envelopes in the stream, $repeats ids repeated"
[[ $counted == "$count" && $repeated == 0 ]] && ok "every entry counted once" \
  || fail "the store counts $counted firings, $repeated entries more than once"

((failures == 0)) || { echo "$failures failure(s)"; exit 1; }
