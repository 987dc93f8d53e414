#!/usr/bin/env bash
# End to end: `stem beat --http` on the file store and file broker. The
# metrics scraped from the running Beat match what the broker received and
# pass promtool; /healthz is 200 while the loop runs, 503 with the reason
# while the loop is stuck on the store (its lock held by a neighbour) though
# the process still answers, no answer at all while the process is stopped
# (SIGSTOP), and 200 again after. Bad --http flags change nothing.
set -u
stem="$(pwd)/$1"
# Time comes from the clock stem reads (STEM_CLOCK_OFFSET), never `date`.
test_clock="$(pwd)/$TEST_CLOCK"
clock() { "$test_clock" now "$@"; }
work="${TEST_TMPDIR:-$(mktemp -d)}/http"
mkdir -p "$work" && cd "$work" || exit 1
unset STEM_SCHEDULE_STORE_URL STEM_SCHEDULE_FILE STEM_BROKER_URL STEM_LOCK_STORE_URL
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
pid=""
cleanup() { [[ -n "$pid" ]] && kill -CONT "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null; }
trap cleanup EXIT

# Polls `command` every 0.1 s for up to $1 seconds.
eventually() {
  local seconds=$1
  shift
  for _ in $(seq $((seconds * 10))); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}
status_of() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port$1"; }
healthz_is() { [[ "$(status_of /healthz)" == "$1" ]]; }

at=$(clock +2s iso)
cat > schedules.yaml <<YAML
- id: once-a
  task: demo.a
  spec: "at:$at"
- id: once-b
  task: demo.b
  spec: "at:$at"
- id: once-c
  task: demo.c
  spec: "at:$at"
YAML

"$stem" beat --schedules schedules.yaml --broker file:tasks.jsonl \
  --http 127.0.0.1:0 2>beat.err &
pid=$!
eventually 10 grep -q "serving http://127.0.0.1:" beat.err || fail "no serving line: $(cat beat.err)"
port=$(grep -o 'serving http://127.0.0.1:[0-9]*' beat.err | grep -o '[0-9]*$')
[[ -n "$port" ]] && ok "Beat says where it serves (port $port)" || { fail "no port"; exit 1; }

eventually 10 healthz_is 200 && ok "/healthz 200 while the loop runs" \
  || fail "/healthz: $(curl -s --max-time 2 http://127.0.0.1:$port/healthz)"
body=$(curl -s --max-time 2 "http://127.0.0.1:$port/healthz")
[[ "$body" == "ok: last pass "* ]] && ok "/healthz says when the last pass was" || fail "/healthz body: $body"

three_sent() { [[ -f tasks.jsonl && $(wc -l < tasks.jsonl) -eq 3 ]]; }
eventually 15 three_sent && ok "the three clocked entries fired" || fail "broker holds $(wc -l < tasks.jsonl 2>/dev/null)"
sleep 0.5
curl -s --max-time 5 "http://127.0.0.1:$port/metrics" > metrics.txt
said=$(promtool check metrics < metrics.txt 2>&1)
[[ $? -eq 0 && -z "$said" ]] && ok "promtool check metrics: clean" || fail "promtool: $said"
received=$(wc -l < tasks.jsonl)
counted=$(grep '^stem_beat_dispatched_total ' metrics.txt | cut -d' ' -f2)
[[ "$counted" == "$received" ]] && ok "stem_beat_dispatched_total $counted = envelopes the broker received" \
  || fail "dispatched_total '$counted', broker received $received"
for id in once-a once-b once-c; do
  grep -q "^stem_beat_entry_dispatched_total{schedule_id=\"$id\"} 1$" metrics.txt \
    && ok "$id: one firing in its own series" || fail "$id: $(grep "$id" metrics.txt)"
done
grep -q '^stem_beat_dispatch_delay_seconds_count 3$' metrics.txt && ok "dispatch-delay histogram counts 3" \
  || fail "$(grep dispatch_delay_seconds_count metrics.txt)"
grep -q '^stem_beat_healthy 1$' metrics.txt && ok "stem_beat_healthy 1" || fail "$(grep healthy metrics.txt)"
grep -q "^stem_beat_build_info{version=\"[0-9.]*\",owner=\"[^\"]*-$pid-" metrics.txt \
  && ok "build_info names the version and this Beat" || fail "$(grep build_info metrics.txt)"

# The running Beat's heartbeat in the store.
out=$("$stem" observe beats)
row=$(echo "$out" | grep -- "-$pid-")
[[ -n "$row" && "$row" == *" $pid "* ]] && ok "observe beats lists this Beat" || fail "observe beats: $out"
out=$("$stem" observe beats --output json)
[[ "$out" == *"\"pid\":$pid"* && "$out" == *"\"http\":\"http://127.0.0.1:$port/\""* && "$out" == *'"healthy":true'* ]] \
  && ok "observe beats json: pid, endpoint, healthy" || fail "observe beats json: $out"

# A neighbour holds the store's lock: every pass waits on it. The process
# answers HTTP throughout, and /healthz says the loop is stuck.
exec 8>.stem/schedules.json.lock
flock 8
eventually 6 healthz_is 503 && ok "/healthz 503 while the loop waits on the store" \
  || fail "/healthz stayed $(status_of /healthz) with the store locked"
body=$(curl -s --max-time 2 "http://127.0.0.1:$port/healthz")
[[ "$body" == "loop stuck: waiting "*"for the store to answer a pass" ]] && ok "... and says why: $body" \
  || fail "/healthz body: $body"
[[ "$(status_of /metrics)" == 200 ]] && ok "/metrics still answers meanwhile" || fail "/metrics: $(status_of /metrics)"
curl -s --max-time 2 "http://127.0.0.1:$port/metrics" | grep -q '^stem_beat_healthy 0$' \
  && ok "stem_beat_healthy 0 meanwhile" || fail "stem_beat_healthy not 0"
exec 8>&-
eventually 10 healthz_is 200 && ok "/healthz 200 once the lock is let go" || fail "/healthz stayed $(status_of /healthz)"

# The whole process stopped: no answer (a health checker's timeout), then
# healthy again after SIGCONT.
kill -STOP "$pid"
code=$(status_of /healthz)
[[ "$code" != 200 ]] && ok "SIGSTOPped: /healthz does not answer 200 (got '$code')" || fail "SIGSTOPped Beat answered 200"
sleep 1
kill -CONT "$pid"
eventually 10 healthz_is 200 && ok "SIGCONT: /healthz 200 again" || fail "after SIGCONT: $(status_of /healthz)"

# Ten connections that never send a request (found by an attack: four
# kept /healthz from answering for as long as they stayed): it answers.
python3 -c "
import socket, time
held = [socket.create_connection(('127.0.0.1', $port)) for _ in range(10)]
time.sleep(6)
" &
idle=$!
sleep 0.5
started=$(date +%s%N)
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/healthz")
took=$(( ($(date +%s%N) - started) / 1000000 ))
[[ "$code" == 200 && $took -lt 2500 ]] && ok "/healthz answers in ${took} ms beside 10 idle connections" \
  || fail "/healthz beside idle connections: $code after ${took} ms"
wait "$idle"

# A publish that never returns (the broker's lock held by a neighbour):
# the loop runs on, but /healthz says the broker is stuck (found by an
# attack: it said ok while nothing could be dispatched).
printf -- '- id: steady\n  task: demo.steady\n  spec: every:1s\n' > steady.yaml
"$stem" schedule apply -f steady.yaml --yes >/dev/null
sleep 2
exec 9>tasks.jsonl.lock
flock 9
eventually 9 healthz_is 503 && ok "/healthz 503 while a publish waits on the broker" \
  || fail "/healthz stayed $(status_of /healthz) with the broker stuck"
body=$(curl -s --max-time 2 "http://127.0.0.1:$port/healthz")
[[ "$body" == "broker stuck: a publish has waited "* ]] && ok "... and says why: $body" || fail "/healthz body: $body"
exec 9>&-
eventually 15 healthz_is 200 && ok "/healthz 200 once the broker takes it" || fail "/healthz stayed $(status_of /healthz)"

# Bad flags: a clear error, nothing applied.
printf -- '- id: must-not-appear\n  task: t\n  spec: every:1m\n' > other.yaml
for bad in "localhost:9808" "127.0.0.1:70000" "1.2.3.4.5:80"; do
  out=$("$stem" beat --schedules other.yaml --http "$bad" 2>&1)
  code=$?
  [[ $code -eq 64 && "$out" == *"--http \"$bad\""* ]] && ok "--http $bad: exit 64, names the flag" \
    || fail "--http $bad: exit $code: $out"
done
out=$("$stem" beat --schedules other.yaml --http "" 2>&1)
[[ $? -eq 64 && "$out" == *'--http "": expected PORT or HOST:PORT'* ]] && ok "--http \"\": exit 64" || fail "--http '': $out"
out=$("$stem" beat --once --http 0 2>&1)
[[ $? -eq 64 && "$out" == *"--http: not with --once"* ]] && ok "--http with --once refused" || fail "--once --http: $out"
out=$(timeout 10 "$stem" beat --schedules other.yaml --broker file:other.jsonl --http "127.0.0.1:$port" 2>&1)
code=$?
[[ $code -ne 0 && $code -ne 124 && "$out" == *"cannot listen"* ]] && ok "a port in use: exit $code, says it cannot listen" \
  || fail "port in use: exit $code: $out"
"$stem" schedule list 2>&1 | grep -q must-not-appear && fail "a refused Beat applied its schedules" \
  || ok "nothing applied by the refused Beats"

# A store not reachable yet: Beat waits for it, /healthz says so, and
# SIGTERM ends the wait cleanly.
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$stem" --store "redis://127.0.0.1:$closed" beat --http 127.0.0.1:0 2>wait.err &
waiting=$!
eventually 10 grep -q "serving http://" wait.err || fail "waiting Beat does not serve: $(cat wait.err)"
wport=$(grep -o 'serving http://127.0.0.1:[0-9]*' wait.err | grep -o '[0-9]*$')
eventually 10 grep -q "waiting for it" wait.err && ok "Beat waits for the store" || fail "$(cat wait.err)"
body=$(curl -s --max-time 2 -w ' %{http_code}' "http://127.0.0.1:$wport/healthz")
[[ "$body" == "starting: opening the store, broker and lock store"*" 503" ]] \
  && ok "/healthz 503 while it waits: starting" || fail "/healthz while waiting: $body"
kill -TERM "$waiting"
wait "$waiting"
code=$?
[[ $code -eq 0 ]] && grep -q "stopped before it started" wait.err && ok "SIGTERM while waiting: exit 0" \
  || fail "SIGTERM while waiting: exit $code: $(tail -2 wait.err)"

kill -TERM "$pid"
wait "$pid"
code=$?
pid=""
[[ $code -eq 0 ]] && ok "SIGTERM: exit 0" || fail "exit $code: $(tail -3 beat.err)"
[[ "$(status_of /healthz)" == 000 ]] && ok "the endpoint is gone with Beat" || fail "still answering after exit"
out=$("$stem" observe beats)
[[ "$out" == "no live Beats on this store" ]] && ok "a stopped Beat's heartbeat is gone" || fail "after stop: $out"

echo "$failures failures"
[[ $failures -eq 0 ]]
