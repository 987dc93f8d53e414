#!/usr/bin/env bash
# End to end: the real `stem beat` with the file store and the file broker
# on second-granularity schedules for a few seconds, then SIGTERM. The
# envelopes must be there once each and the store's counters must match.
# Then two Beats on one store with no lock store: still once each.
set -u
stem="$(pwd)/$1"
work="${TEST_TMPDIR:-$(mktemp -d)}/beat"
mkdir -p "$work" && cd "$work" || exit 1
unset STEM_SCHEDULE_STORE_URL STEM_SCHEDULE_FILE STEM_BROKER_URL STEM_LOCK_STORE_URL
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

cat > schedules.yaml <<'YAML'
- id: every-second
  task: demo.tick
  spec: "* * * * * *"
- id: every-two
  task: demo.tock
  spec: every:2s
  kwargs: {loud: true}
- id: paused
  task: demo.never
  spec: every:1s
  enabled: false
YAML

"$stem" beat --schedules schedules.yaml --broker file:tasks.jsonl 2>beat.err &
pid=$!
sleep 5
kill -TERM $pid
wait $pid
status=$?
[[ $status -eq 0 ]] && echo "ok   beat exits 0 on SIGTERM" || fail "beat exited $status: $(cat beat.err)"
grep -q "stopped" beat.err && echo "ok   beat says it stopped" || fail "no clean stop: $(cat beat.err)"

total=$(wc -l < tasks.jsonl)
unique=$(grep -o '"id":"[^"]*"' tasks.jsonl | sort -u | wc -l)
[[ $total -ge 5 ]] && echo "ok   $total envelopes published" || fail "only $total envelopes"
[[ $total -eq $unique ]] && echo "ok   every envelope id once" || fail "$total envelopes, $unique ids"
grep -q '"scheduled-from":"beat"' tasks.jsonl && echo "ok   Stem's beat headers" || fail "headers missing"
grep -q '"kwargs":{"loud":true}' tasks.jsonl && echo "ok   kwargs in meta" || fail "kwargs missing"
grep -q 'demo.never' tasks.jsonl && fail "a paused entry fired" || echo "ok   paused entry never fired"

for id in every-second every-two; do
  published=$(grep -c "\"schedule-id\":\"$id\"" tasks.jsonl)
  counted=$("$stem" schedule show "$id" --output json | grep -o '"totalRunCount":[0-9]*' | cut -d: -f2)
  [[ "$published" == "$counted" ]] && echo "ok   $id: $published published = totalRunCount" \
    || fail "$id: $published published, store counts $counted"
done

# --once: nothing is due right after the run above, so nothing new fires;
# then the next second's firing is dispatched once.
sleep 1.2
"$stem" beat --once --broker file:tasks.jsonl 2>once.err
[[ $? -eq 0 ]] && echo "ok   beat --once exits 0" || fail "beat --once: $(cat once.err)"
after=$(wc -l < tasks.jsonl)
unique=$(grep -o '"id":"[^"]*"' tasks.jsonl | sort -u | wc -l)
[[ $after -gt $total && $after -eq $unique ]] && echo "ok   --once dispatched, still unique" \
  || fail "--once: $total -> $after lines, $unique ids"

# Two Beats on one file store, no lock store, printing to stdout (the log
# broker drops no duplicates): the store's claims keep every firing to one.
cat > two.yaml <<'YAML'
- id: shared-tick
  task: demo.shared
  spec: "* * * * * *"
- id: shared-half
  task: demo.half
  spec: every:500ms
YAML
"$stem" schedule apply -f two.yaml --store file:two.json --yes >/dev/null 2>apply.err \
  || fail "apply two.yaml: $(cat apply.err)"
"$stem" beat --store file:two.json >one.out 2>one.err &
one=$!
"$stem" beat --store file:two.json >two.out 2>two.err &
two=$!
sleep 4
kill -TERM $one $two
wait $one; s1=$?
wait $two; s2=$?
[[ $s1 -eq 0 && $s2 -eq 0 ]] && echo "ok   both beats exit 0" || fail "beats exited $s1 $s2"
cat one.out two.out > both.out
total=$(grep -c '"id"' both.out)
unique=$(grep -o '"id":"[^"]*"' both.out | sort -u | wc -l)
[[ $total -ge 8 ]] && echo "ok   two beats published $total envelopes" || fail "only $total envelopes"
[[ $total -eq $unique ]] && echo "ok   no firing printed twice" || fail "$total envelopes, $unique ids"
for id in shared-tick shared-half; do
  published=$(grep -c "\"schedule-id\":\"$id\"" both.out)
  counted=$("$stem" schedule show "$id" --store file:two.json --output json | grep -o '"totalRunCount":[0-9]*' | cut -d: -f2)
  [[ "$published" == "$counted" ]] && echo "ok   $id: $published printed = totalRunCount" \
    || fail "$id: $published printed, store counts $counted"
done

# JSON logs: every stderr line one object; at debug, a line per dispatch
# with the entry, nominal time, envelope id and drift — the envelope ids
# those the broker received.
printf -- '- id: json-tick\n  task: demo.json\n  spec: every:1s\n' > json.yaml
"$stem" beat --store file:json.json --schedules json.yaml --broker file:json.jsonl \
  --log-format json --log-level debug 2>json.err &
pid=$!
sleep 1
# A neighbour on the store's lock: the plugin's "waiting for the lock" line
# is JSON too (found by an attack: a plain line among the JSON).
# Held 3 s: a pass begins within the first (every second), and says it
# waits after 1 s of waiting.
flock json.json.lock sleep 3
sleep 1
kill -TERM $pid
wait $pid
[[ $? -eq 0 ]] && echo "ok   beat --log-format json exits 0" || fail "json beat: $(tail -2 json.err)"
said=$(python3 - <<'PY'
import json, sys
lines = open("json.err").read().splitlines()
objects = []
for line in lines:
    try:
        objects.append(json.loads(line))
    except ValueError:
        print("not JSON: " + line); sys.exit(0)
if not all({"time", "level", "msg"} <= o.keys() for o in objects):
    print("missing time/level/msg"); sys.exit(0)
dispatched = [o for o in objects if o["msg"] == "dispatched"]
if len(dispatched) < 2:
    print("only %d dispatch lines" % len(dispatched)); sys.exit(0)
if not all(o["level"] == "debug" and o["entry"] == "json-tick" and o["nominal"].endswith("Z")
           and isinstance(o["drift_ms"], int) and len(o["envelope"]) == 36 for o in dispatched):
    print("bad dispatch line: %r" % dispatched[0]); sys.exit(0)
sent = {json.loads(l)["id"] for l in open("json.jsonl")}
logged = {o["envelope"] for o in dispatched}
if sent != logged:
    print("logged %d envelope ids, broker has %d, differing" % (len(logged), len(sent))); sys.exit(0)
if not any(o["msg"].startswith("waiting for the lock on") for o in objects):
    print("no JSON line for the wait on the lock"); sys.exit(0)
if not any(o["msg"].startswith("stopped; totals:") for o in objects):
    print("no stop line"); sys.exit(0)
print("ok")
PY
)
[[ "$said" == ok ]] && echo "ok   JSON log lines; dispatch lines match the broker's envelope ids" || fail "json log: $said"
out=$("$stem" beat --log-format json --log-level loud 2>&1)
[[ $? -eq 64 && "$out" == '{"time":'*'"level":"error","msg":"--log-level \"loud\": expected debug, info, warning or error"}' ]] \
  && echo "ok   a bad --log-level: exit 64, said in JSON" || fail "bad --log-level: $out"
out=$("$stem" beat --log-format xml 2>&1)
[[ $? -eq 64 && "$out" == 'stem: --log-format "xml": expected text or json' ]] \
  && echo "ok   a bad --log-format: exit 64" || fail "bad --log-format: $out"
out=$(timeout 5 "$stem" beat --store file:json.json --once --log-level warning --broker file:json.jsonl 2>&1)
[[ -z "$out" ]] && echo "ok   --log-level warning: nothing to say on a clean run" || fail "warning level said: $out"

# A heartbeat the store refuses (its side file is a directory): Beat fires
# on, and says so once (found by an attack: it said nothing).
mkdir -p hb && mkdir hb/s.json.beats
printf -- '- id: hb\n  task: t.hb\n  spec: every:1s\n' > hb.yaml
"$stem" beat --store file:hb/s.json --schedules hb.yaml --broker file:hb.jsonl 2>hb.err &
pid=$!
sleep 2.5
kill -TERM $pid; wait $pid
[[ $(grep -c 'stem beat: heartbeat: ' hb.err) -eq 1 ]] && echo "ok   a refused heartbeat is said once" || fail "heartbeat: $(cat hb.err)"
[[ -s hb.jsonl ]] && echo "ok   ... and firing goes on" || fail "nothing fired without heartbeats"

# A large --schedules file: on a terminal, a progress line redrawn in place
# (`script` gives the command a pseudo-terminal), cleared before the
# summary; not a byte of it when stderr is not a terminal.
python3 -c "
with open('big.yaml', 'w') as f:
    for i in range(60000):
        f.write('- id: big%d\\n  task: t.big\\n  spec: every:1h\\n' % i)
"
script -qec "'$stem' beat --store file:big.json --schedules big.yaml --once --broker file:big.jsonl" /dev/null > tty.out
progress=$(tr '\r' '\n' < tty.out | grep -c 'stem beat: applying 60000 entries from big.yaml \.\.\. [0-9.]*s')
[[ $progress -ge 1 ]] && echo "ok   progress line on a terminal ($progress redraws)" || fail "no progress line: $(head -c 300 tty.out | cat -v)"
tr '\r' '\n' < tty.out | sed 's/\x1b\[K//g' | grep -q '^stem beat: applied big.yaml (60000 created' && echo "ok   ... then the summary on a clean line" \
  || fail "summary: $(tail -c 300 tty.out | cat -v)"
"$stem" beat --store file:big2.json --schedules big.yaml --once --broker file:big2.jsonl 2>notty.err
grep -q $'\r' notty.err && fail "progress written to a non-terminal" || echo "ok   no progress line when stderr is a file"

[[ $failures -eq 0 ]] || { echo "$failures failure(s)"; exit 1; }
echo "all checks passed"
