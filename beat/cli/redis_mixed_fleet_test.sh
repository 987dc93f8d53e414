#!/usr/bin/env bash
# Mixed fleet: during a migration a Stem Beat and ours share one Redis
# store. A stand-in for Stem's Beat (testdata/stem_redis_beat.py, which
# takes Stem's per-entry lock key as Stem's due() does) and our `stem beat`
# (its claims are that same key) run side by side on 20 one-second
# intervals: each firing (entry, nominal time) happens once, by one or the
# other, as the entries' history streams show.
set -u
stem="$(pwd)/$1"
# Time comes from the clock stem reads (STEM_CLOCK_OFFSET), never `date`.
test_clock="$(pwd)/$TEST_CLOCK"
clock() { "$test_clock" now "$@"; }
stem_beat="$(pwd)/$2"
work="${TEST_TMPDIR:-$(mktemp -d)}/mixed"
mkdir -p "$work" && cd "$work" || exit 1
unset STEM_SCHEDULE_STORE_URL STEM_SCHEDULE_FILE STEM_BROKER_URL STEM_LOCK_STORE_URL
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
ok() { echo "ok   $*"; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --save '' \
  --appendonly no --daemonize no --logfile "$work/redis.log" &
redis_pid=$!
trap 'kill -KILL $redis_pid 2>/dev/null; [[ -n "${beat:-}" ]] && kill -KILL $beat 2>/dev/null' EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
cli() { redis-cli -p "$port" "$@"; }

export STEM_SCHEDULE_STORE_URL="redis://127.0.0.1:$port/0?namespace=mixed"
export STEM_BROKER_URL="$STEM_SCHEDULE_STORE_URL"
{
  for i in $(seq -w 1 20); do
    printf -- '- id: job-%s\n  task: demo.job\n  spec: every:1s\n' "$i"
  done
} > schedules.yaml
"$stem" schedule apply -f schedules.yaml --yes >/dev/null 2>&1 || fail "apply"

# All overdue (by 10 s), as after a Beat outage.
past_ms=$(( $(clock -10s unix) * 1000 ))
past_iso=$(clock -10s iso | sed 's/Z$/.000Z/')
for i in $(seq -w 1 20); do
  cli HSET "mixed:schedule:job-$i" nextRunAt "$past_iso" >/dev/null
  cli ZADD mixed:schedule:index "$past_ms" "job-$i" >/dev/null
done
# Stem's Beat starts first, on entries all due, and is slow (each enqueue
# holds its lock 150 ms), so ours meets its locks when it starts. Debian's
# python3 (with python3-redis), not whatever python3 is first on PATH.
# Ours starts once Stem's has fired (not after a fixed sleep: under ASan
# and a loaded machine Python took longer than one to start, ours took
# every lock, and Stem's fired nothing).
STEM_CLOCK_OFFSET_SECONDS=$("$test_clock" offset) /usr/bin/python3 "$stem_beat" "$port" mixed 6 150 > stem_fired.txt 2>stem.err &
stem_pid=$!
for _ in $(seq 200); do
  [[ $(cli XLEN mixed:stem:fired) -gt 0 ]] && break
  kill -0 "$stem_pid" 2>/dev/null || break
  sleep 0.05
done
[[ $(cli XLEN mixed:stem:fired) -gt 0 ]] || fail "Stem's Beat did not start firing in 10 s: $(tail -3 stem.err)"
"$stem" beat 2>beat.err & beat=$!
wait "$stem_pid"
stem_fired=$(cat stem_fired.txt)
kill -TERM "$beat"; wait "$beat"; beat=

# (id, nominal time) of every firing: Stem's as it enqueued them, ours from
# the history our Beat keeps (the records without Stem's `by`). Read with
# Debian's python3-redis: the two kinds of record have different fields.
read -r ours duplicates < <(/usr/bin/python3 - "$port" <<'PY'
import collections, sys
import redis
r = redis.Redis(port=int(sys.argv[1]), decode_responses=True)
fired = collections.defaultdict(list)
for _, fields in r.xrange("mixed:stem:fired"):
    fired[(fields["id"], fields["scheduledAt"])].append("stem")
ours = 0
for i in range(1, 21):
    entry = "job-%02d" % i
    for _, fields in r.xrange("mixed:schedule:%s:history" % entry):
        if "by" not in fields:
            ours += 1
            fired[(entry, fields["scheduledAt"])].append("ours")
twice = {key: who for key, who in fired.items() if len(who) > 1}
for key, who in sorted(twice.items())[:5]:
    print("     fired twice:", key, who, file=sys.stderr)
print(ours, len(twice))
PY
)
[[ $stem_fired -gt 0 ]] && ok "Stem's Beat fired $stem_fired" || fail "Stem's Beat fired nothing: $(tail -3 stem.err)"
[[ $ours -gt 0 ]] && ok "our Beat fired $ours" || fail "our Beat fired nothing: $(head beat.err)"
[[ $duplicates -eq 0 ]] && ok "no (entry, nominal time) fired twice" \
  || fail "$duplicates firings twice"
total=$((stem_fired + ours))
[[ $total -ge 80 ]] && ok "$total firings in all" || fail "only $total firings in 6 s of 20 one-second entries"

echo "$failures failures"
[[ $failures -eq 0 ]]
