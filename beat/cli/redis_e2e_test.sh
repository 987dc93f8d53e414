#!/usr/bin/env bash
# End to end on Redis: a real redis-server on a free loopback port, the real
# `stem` CLI and two `stem beat` processes sharing it (no lock store: the
# store's claims). Redis is killed mid-run and restarted 3 s later: the
# Beats log, retry, and carry on; every envelope id reaches the stream once
# and every entry's run count matches what its stream holds. Then a
# sleeping Beat (idle poll 60 s) fires an entry applied 1 s ahead on time:
# the store's change notification woke it.
set -u
stem="$(pwd)/$1"
# Time comes from the clock stem reads (STEM_CLOCK_OFFSET), never `date`.
test_clock="$(pwd)/$TEST_CLOCK"
clock() { "$test_clock" now "$@"; }
work="${TEST_TMPDIR:-$(mktemp -d)}/redis-e2e"
mkdir -p "$work" && cd "$work" || exit 1
unset STEM_SCHEDULE_STORE_URL STEM_SCHEDULE_FILE STEM_BROKER_URL STEM_LOCK_STORE_URL
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
ok() { echo "ok   $*"; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_redis() {
  redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --save '' \
    --appendonly yes --appendfsync always --daemonize no \
    --logfile "$work/redis.log" &
  redis_pid=$!
  for _ in $(seq 100); do
    # PONG, not LOADING: the append-only file is read back.
    [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]] && return 0
    sleep 0.05
  done
  echo "redis-server did not start"; exit 1
}
cli() { redis-cli -p "$port" "$@"; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  kill -KILL "$redis_pid" 2>/dev/null
}
trap cleanup EXIT
start_redis

export STEM_SCHEDULE_STORE_URL="redis://127.0.0.1:$port/0?namespace=e2e"
export STEM_BROKER_URL="$STEM_SCHEDULE_STORE_URL"

cat > schedules.yaml <<'YAML'
- id: every-second
  task: demo.tick
  spec: "* * * * * *"
- id: catch-up
  task: demo.all
  spec: every:1s
  misfirePolicy: fire_all
- id: every-two
  task: demo.tock
  spec: every:2s
  kwargs: {loud: true}
- id: paused
  task: demo.never
  spec: every:1s
  enabled: false
YAML
"$stem" schedule apply -f schedules.yaml --yes >apply.out 2>&1 \
  && ok "applied to redis" || fail "apply: $(cat apply.out)"
[[ $(cli ZCARD e2e:schedule:index) == 4 ]] && ok "four entries in Stem's index" \
  || fail "index holds $(cli ZCARD e2e:schedule:index)"

"$stem" beat 2>beat1.err & pids+=($!)
"$stem" beat 2>beat2.err & pids+=($!)
sleep 3
kill -KILL "$redis_pid"; wait "$redis_pid" 2>/dev/null
sleep 3
start_redis
sleep 4
for p in "${pids[@]}"; do kill -TERM "$p"; done
for p in "${pids[@]}"; do
  wait "$p"; status=$?
  [[ $status -eq 0 ]] && ok "beat $p exits 0 on SIGTERM" || fail "beat $p exited $status"
done
pids=()
grep -qi "redis" beat1.err beat2.err && grep -qi "retrying\|retry" beat1.err beat2.err \
  && ok "the outage was logged, with retries" \
  || fail "no outage logged: $(cat beat1.err beat2.err | head -20)"

cli XRANGE e2e:stream:default - + > stream.txt
ids=$(grep -A1 '^id$' stream.txt | grep -v '^id$' | grep -v -- '--')
total=$(echo "$ids" | grep -c .)
unique=$(echo "$ids" | sort -u | grep -c .)
[[ $total -ge 10 ]] && ok "$total envelopes in the stream" || fail "only $total envelopes"
[[ $total -eq $unique ]] && ok "every envelope id once across two Beats and an outage" \
  || fail "$total envelopes, $unique ids"
grep -q 'demo.never' stream.txt && fail "a paused entry fired" || ok "the paused entry never fired"
for id in every-second catch-up every-two; do
  published=$(grep -c "\"schedule-id\":\"$id\"" stream.txt)
  counted=$(cli HGET "e2e:schedule:$id" totalRunCount)
  [[ "$published" == "$counted" ]] && ok "$id: $published in the stream = totalRunCount" \
    || fail "$id: $published in the stream, totalRunCount $counted"
done
# fire_all sent every missed second after the outage; fire_once sent one.
all=$(grep -c '"schedule-id":"catch-up"' stream.txt)
once=$(grep -c '"schedule-id":"every-second"' stream.txt)
[[ $all -ge 8 && $all -gt $once ]] && ok "fire_all caught up ($all) where fire_once did not ($once)" \
  || fail "fire_all $all, fire_once $once"
# A Stem worker's consumer group exists on the stream.
cli XINFO GROUPS e2e:stream:default | grep -q 'e2e:group:default' \
  && ok "Stem's consumer group is there" || fail "no consumer group"

# ---- Change notification: a sleeping Beat fires an entry applied 1 s ahead ----
cli DEL e2e:schedule:index >/dev/null
"$stem" beat --idle-poll 60s 2>sleeper.err & pids+=($!)
sleep 1.5  # asleep now: nothing is due for a minute
due=$(clock +1s iso_ms)
printf -- '- id: soon\n  task: demo.soon\n  spec: "at:%s"\n' "$due" > soon.yaml
"$stem" schedule apply -f soon.yaml --yes >/dev/null 2>&1 || fail "apply soon.yaml"
sleep 3
fired=$(cli XRANGE e2e:stream:default - + | grep -c 'demo.soon')
kill -TERM "${pids[0]}"; wait "${pids[0]}"; pids=()
[[ $fired -eq 1 ]] && ok "the sleeping Beat woke and fired the new entry" \
  || fail "the new entry fired $fired times within 3 s (idle poll 60 s): $(cat sleeper.err)"
enqueued=$(cli XRANGE e2e:stream:default - + | grep -A1 '^enqueuedAt$' | tail -1)
echo "     due $due, enqueued $enqueued"

# ---- --once dispatches everything due, not one batch ----
due=$(clock +2s iso)
/usr/bin/python3 - "$due" > many.yaml <<'PY'
import sys
for i in range(2500):
    print(f'- id: once-{i}\n  task: demo.once\n  spec: "at:{sys.argv[1]}"')
PY
export STEM_SCHEDULE_STORE_URL="redis://127.0.0.1:$port/0?namespace=once"
export STEM_BROKER_URL="$STEM_SCHEDULE_STORE_URL"
"$stem" schedule apply -f many.yaml --yes >/dev/null 2>&1 || fail "apply many.yaml"
sleep 2.5
"$stem" beat --once 2>once.err; status=$?
sent=$(cli XLEN once:stream:default)
[[ $status -eq 0 && $sent -eq 2500 ]] && ok "beat --once dispatched all 2500 due (more than a batch)" \
  || fail "beat --once: exit $status, $sent of 2500: $(cat once.err)"

# ---- Two namespaces (tenants) sharing one broker: nothing taken for a duplicate ----
printf -- '- id: backup\n  task: a.backup\n  spec: "* * * * * *"\n' > ta.yaml
sed s/a.backup/b.backup/ ta.yaml > tb.yaml
unset STEM_SCHEDULE_STORE_URL STEM_BROKER_URL
shared="redis://127.0.0.1:$port/0?namespace=shared"
"$stem" --store "redis://127.0.0.1:$port/0?namespace=tenantA" schedule apply -f ta.yaml --yes >/dev/null 2>&1
"$stem" --store "redis://127.0.0.1:$port/0?namespace=tenantB" schedule apply -f tb.yaml --yes >/dev/null 2>&1
"$stem" --store "redis://127.0.0.1:$port/0?namespace=tenantA" beat --broker "$shared" 2>ta.err & pids+=($!)
"$stem" --store "redis://127.0.0.1:$port/0?namespace=tenantB" beat --broker "$shared" 2>tb.err & pids+=($!)
sleep 4
for p in "${pids[@]}"; do kill -TERM "$p"; done
for p in "${pids[@]}"; do wait "$p"; done
pids=()
a=$(cli XRANGE shared:stream:default - + | grep -c '^a.backup$')
b=$(cli XRANGE shared:stream:default - + | grep -c '^b.backup$')
ra=$(cli HGET tenantA:schedule:backup totalRunCount)
rb=$(cli HGET tenantB:schedule:backup totalRunCount)
[[ $a -eq $ra && $b -eq $rb && $a -ge 2 && $b -ge 2 ]] \
  && ok "two tenants on one broker: $a + $b envelopes, each counted" \
  || fail "tenants: a.backup $a (count $ra), b.backup $b (count $rb)"

# ---- A Beat started while Redis is down waits for it, then fires ----
cli shutdown nosave >/dev/null 2>&1
sleep 0.5
"$stem" --store "redis://127.0.0.1:$port/0?namespace=late" beat 2>late.err >late.out & late=$!
pids+=($late)
sleep 2
if kill -0 "$late" 2>/dev/null; then ok "a Beat started with Redis down keeps waiting"
else fail "a Beat started with Redis down exited: $(cat late.err)"; fi
start_redis
printf -- '- id: late\n  task: late.tick\n  spec: "* * * * * *"\n' > late.yaml
"$stem" --store "redis://127.0.0.1:$port/0?namespace=late" schedule apply -f late.yaml --yes >/dev/null 2>&1
sleep 4
kill -TERM "$late"; wait "$late"; status=$?
pids=()
grep -q "waiting for it; retrying in" late.err && ok "it said it was waiting" \
  || fail "no wait logged: $(head -3 late.err)"
[[ $status -eq 0 && $(grep -c late.tick late.out) -ge 2 ]] \
  && ok "once Redis was up it fired ($(grep -c late.tick late.out) firings) and stopped cleanly" \
  || fail "late Beat: exit $status, $(grep -c late.tick late.out) firings: $(tail -3 late.err)"

echo "$failures failures"
[[ $failures -eq 0 ]]
