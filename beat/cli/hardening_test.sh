#!/usr/bin/env bash
# Issue 8, end to end: each attack that once made the real `stem` lose,
# repeat, crash or leak, run against the built binary and files on disk.
set -u
stem="$(pwd)/$1"
failures=0
ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }
check() {  # name, expected, actual
  [[ "$2" == "$3" ]] && ok "$1" || { fail "$1"; echo "  expected: $2"; echo "  actual:   $3"; }
}
contains() {  # name, needle, haystack
  [[ "$3" == *"$2"* ]] && ok "$1" || { fail "$1: no \"$2\" in:"; echo "$3" | head -20; }
}
lacks() {  # name, needle, haystack
  [[ "$3" != *"$2"* ]] && ok "$1" || { fail "$1: \"$2\" in:"; echo "$3" | head -20; }
}
fresh() {  # a new working directory
  work="${TEST_TMPDIR:-$(mktemp -d)}/hardening-$1"
  rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
}
unset STEM_SCHEDULE_STORE_URL STEM_SCHEDULE_FILE STEM_BROKER_URL STEM_LOCK_STORE_URL
nested() {  # depth: args with maps `depth` deep inside
  python3 -c "
import json, sys
v = 1
for _ in range($1): v = {'a': v}
json.dump([{'id': 'deep', 'task': 't', 'spec': 'every:1m', 'args': v}], sys.stdout)"
}

# ---- Defect 1: whatever apply accepts, every reader reads ----
fresh limits
# Maps 20 deep inside args (the limit), then 21.
nested 21 > deep.json
"$stem" schedule apply -f deep.json --yes >/dev/null
check "args at the limit: applied" 0 $?
"$stem" schedule list >/dev/null; check "args at the limit: list reads it" 0 $?
"$stem" schedule show deep >/dev/null; check "args at the limit: show reads it" 0 $?
"$stem" beat --once >/dev/null 2>&1
check "args at the limit: beat reads it" 0 $?
nested 22 > deeper.json
out=$("$stem" schedule apply -f deeper.json --yes 2>&1)
check "args past the limit: refused" 64 $?
contains "args past the limit: names file, line and field" \
  'deeper.json:1: schedules[0] (id "deep"): args.a.a' "$out"
"$stem" schedule delete deep --yes >/dev/null; check "delete works" 0 $?

# An entry written behind the store's back: the others are still served,
# it is reported, and delete removes it.
fresh unreadable
cat > .stem/schedules.json 2>/dev/null || { mkdir -p .stem; }
cat > .stem/schedules.json <<'JSON'
[
{"id":"good","taskName":"t","queue":"default","spec":{"kind":"interval","everyMs":60000,"newKey":1},"enabled":true,"nextRunAt":"2026-01-01T00:00:00.000Z"},
{"id":"bad","taskName":"t","queue":"default","spec":{"kind":"hourly"}},
{"id":"worse","taskName":"t","queue":"default","spec":"every:1m","args":{"a":tru}}
]
JSON
out=$("$stem" schedule list 2>&1)
check "unreadable: list exits 65" 65 $?
contains "unreadable: the good one is listed (an unknown spec key is fine)" "good" "$out"
contains "unreadable: bad is reported" 'entry 1 (line 3, id "bad"): spec.kind' "$out"
contains "unreadable: worse is reported" 'id "worse"' "$out"
contains "unreadable: says how to delete" 'stem schedule delete bad --yes' "$out"
out=$("$stem" schedule show bad 2>&1)
check "unreadable: show exits 65" 65 $?
"$stem" beat --once --broker file:tasks.jsonl 2>beat.err
check "unreadable: beat --once still fires the good one" 0 $?
grep -q '"schedule-id":"good"' tasks.jsonl && ok "unreadable: good fired" || fail "unreadable: good did not fire"
contains "unreadable: beat reports it" 'spec.kind' "$(cat beat.err)"
"$stem" schedule delete bad --yes >/dev/null && "$stem" schedule delete worse --yes >/dev/null
check "unreadable: delete removes them" 0 $?
"$stem" schedule list >/dev/null; check "unreadable: list clean again" 0 $?

# ---- Defect 6: crashes on input ----
fresh numbers
cat > huge.json <<'JSON'
[{"id":"huge","task":"t","spec":{"kind":"interval","every":"99999999999999999999"}}]
JSON
out=$("$stem" schedule apply -f huge.json --yes 2>&1)
check "huge number: exit 64, no abort" 64 $?
contains "huge number: names file, line, field" 'huge.json:1: schedules[0] (id "huge"): spec.every' "$out"
# The same number in a store file of more than a megabyte (parsed on
# several threads): reported as that entry's problem, no abort.
python3 - <<'PY'
import json
entries = [{"id": "e%d" % i, "taskName": "t", "queue": "default",
            "spec": {"kind": "interval", "everyMs": 60000}} for i in range(12000)]
entries[7000]["spec"] = {"kind": "interval", "every": "99999999999999999999"}
import os
os.makedirs(".stem", exist_ok=True)
json.dump(entries, open(".stem/schedules.json", "w"))
PY
out=$("$stem" schedule list --output json 2>&1 >/dev/null)
check "huge number in a big store: exit 65, no abort" 65 $?
contains "huge number in a big store: reported" 'id "e7000"' "$out"
printf 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n' > bomb.yaml
for n in b c d e f g h i j; do
  p=$(tail -c 2 bomb.yaml | head -c 1)
  prev=$(sed -n '$p' bomb.yaml | cut -c1)
  printf '%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n' $n $n $prev $prev $prev $prev $prev $prev $prev $prev $prev $prev >> bomb.yaml
done
echo 'schedules: *j' >> bomb.yaml
out=$("$stem" schedule apply -f bomb.yaml --yes 2>&1)
check "alias bomb: exit 64, no bad_alloc" 64 $?
contains "alias bomb: says why" "too many nodes" "$out"

# ---- Defect 14: zones are IANA names, not paths ----
fresh zones
printf -- '- id: z\n  task: t\n  spec: "0 9 * * *"\n  timezone: "../../usr/share/zoneinfo/Asia/Tokyo"\n' > z.yaml
out=$("$stem" schedule apply -f z.yaml --yes 2>&1)
check "zone path: refused" 64 $?
contains "zone path: says why" "is not an IANA time zone name" "$out"

# ---- Defect 2: a host problem is not written into the shared store ----
fresh tzdata
printf -- '- id: zoned\n  task: t\n  spec: "* * * * * *"\n  timezone: Asia/Tokyo\n' > z.yaml
"$stem" schedule apply -f z.yaml --yes >/dev/null
before=$(cat .stem/schedules.json)
sleep 1.1
out=$(TZDIR=/nonexistent "$stem" beat --once --broker file:tasks.jsonl 2>&1)
check "no tzdata: --once says it failed" 69 $?
contains "no tzdata: says it is this host's error" "an error of this host" "$out"
check "no tzdata: the shared entry is unchanged" "$before" "$(cat .stem/schedules.json)"
"$stem" beat --once --broker file:tasks.jsonl 2>/dev/null
check "with tzdata: another Beat fires it" 0 $?
grep -q '"schedule-id":"zoned"' tasks.jsonl && ok "with tzdata: fired" || fail "with tzdata: not fired"

# ---- Defect 15: --once after pausing an entry exits 0; errors one line ----
fresh once
mkdir -p .stem
cat > .stem/schedules.json <<'JSON'
[{"id":"broken","taskName":"t","queue":"default","spec":{"kind":"cron","expression":"61 * * * *"},"nextRunAt":"2026-01-01T00:00:00.000Z"}]
JSON
out=$("$stem" beat --once --broker file:tasks.jsonl 2>&1)
check "--once after pausing: exit 0" 0 $?
contains "--once: counts the pause" "1 paused" "$out"
contains "paused for every Beat" '"enabled":false' "$(cat .stem/schedules.json)"
printf '[\n{"id": "a",\n "task": "t"\n "spec": "every:1m"}\n]\n' > bad.json
out=$("$stem" schedule apply -f bad.json --yes 2>&1)
check "bad JSON: exit 64" 64 $?
check "bad JSON: one line" 1 "$(echo "$out" | wc -l)"
contains "bad JSON: file and line" "bad.json:4: not valid JSON" "$out"

# ---- Defect 10: credentials never leak, whatever the URL shape ----
fresh secrets
for url in 'redis://user:pa/ss-SECRET1@host:6379/0' 'redis://host/0?password=SECRET2' \
           'redis:user:SECRET3@host:6379' 'redis://:p@ss-SECRET4@host/0' \
           'postgres://u:SECRET5@db/stem?sslmode=require'; do
  out=$("$stem" schedule list --store "$url" 2>&1)
  lacks "redacted: $url" "SECRET" "$out"
  # The plugins are there; neither can reach its host.
  if [[ "$url" == redis* ]]; then expected=redis; else expected=PostgreSQL; fi
  contains "still says what failed: $url" "$expected" "$out"
done

# ---- Stem compatibility: warnings, and --compat stem refuses ----
fresh compat
printf -- '- id: secs\n  task: t\n  spec: "*/10 * * * * *"\n- id: plain\n  task: t\n  spec: "*/5 * * * *"\n' > c.yaml
out=$("$stem" schedule apply -f c.yaml --yes 2>&1)
check "compat: applied with a warning" 0 $?
contains "compat: one warning line naming file, line, entry, field" \
  'stem: warning: c.yaml:3: schedules[0] (id "secs"): spec.cron.expression: has 6 fields' "$out"
check "compat: only the entry Stem cannot read" 1 "$(echo "$out" | grep -c warning)"
rm -rf .stem
out=$("$stem" schedule apply -f c.yaml --yes --compat stem 2>&1)
check "--compat stem: refused" 64 $?
[[ ! -e .stem/schedules.json ]] && ok "--compat stem: nothing applied" || fail "--compat stem applied"

# ---- Defect 17: a neighbour holding the store's lock does not stop reads ----
fresh held
printf -- '- id: a\n  task: t\n  spec: every:1m\n' > a.yaml
"$stem" schedule apply -f a.yaml --yes >/dev/null
exec 8>.stem/schedules.json.lock
flock 8
out=$(timeout 5 "$stem" schedule list 2>&1)
check "lock held: list still reads" 0 $?
contains "lock held: list shows the entry" "every 1m" "$out"
out=$(timeout 5 "$stem" schedule show a 2>&1)
check "lock held: show still reads" 0 $?
exec 8>&-

# ---- Found by attacking the binary ----
fresh found
# Control characters from the store never reach the terminal raw.
mkdir -p .stem
printf '%s\n' '[{"id":"x","taskName":"t","queue":"default","spec":{"kind":"cron","expression":"0 0 30 2 *\u001b]0;PWNED\u0007"},"pauseNote":"n\u001b[31m\r\nFAKE","enabled":false,"nextRunAt":"2026-01-01T00:00:00.000Z"}]' > .stem/schedules.json
out=$("$stem" schedule list 2>&1; "$stem" schedule show x 2>&1)
[[ "$out" != *$'\e'* && "$out" != *$'\a'* && "$out" != *$'\r'* ]] \
  && ok "control characters escaped in list and show" \
  || { fail "control characters printed raw"; echo "$out" | cat -A | head -5; }
# A FIFO planted in place of the store is refused at once, not waited on.
rm -f .stem/schedules.json && mkfifo .stem/schedules.json
timeout 5 "$stem" schedule list >/dev/null 2>&1
rc=$?; [[ $rc -ne 124 && $rc -ne 0 ]] && ok "FIFO store: refused at once ($rc)" || fail "FIFO store: $rc"
rm -f .stem/schedules.json
# A byte-order mark in front of a store file is not an error.
printf '\xef\xbb\xbf[{"id":"bom","taskName":"t","queue":"default","spec":"every:1m"}]' > .stem/schedules.json
"$stem" schedule show bom >/dev/null; check "BOM: the store reads" 0 $?
# An entry whose first fire would fall after 9999 is finished, not unreadable.
printf -- '- {id: late, task: t, spec: "0 0 1 1 *", startAt: "9999-12-31T00:00:00Z"}\n' > y.yaml
"$stem" schedule apply -f y.yaml --yes >/dev/null; check "year 10000: applied" 0 $?
"$stem" schedule list >/dev/null; check "year 10000: list still reads" 0 $?
contains "year 10000: finished" "finished" "$("$stem" schedule show late)"
# Usage errors are one line too.
out=$("$stem" schedule dry-run --spec '* * * * *' --count 99999999999999999999 2>&1)
check "usage error: exit 64" 64 $?
check "usage error: one line" 1 "$(echo "$out" | wc -l)"
contains "usage error: says stem" "stem: " "$out"

# ---- Defect 9: a second signal stops Beat at once ----
fresh signals
printf -- '- id: tick\n  task: t\n  spec: "* * * * * *"\n' > s.yaml
"$stem" schedule apply -f s.yaml --yes >/dev/null
# The broker's lock held by a neighbour: the firing in hand waits on it.
touch tasks.jsonl.lock
exec 9>tasks.jsonl.lock
flock 9
"$stem" beat --broker file:tasks.jsonl 2>beat.err &
pid=$!
sleep 1.5
kill -TERM $pid
sleep 0.5
kill -0 $pid 2>/dev/null && ok "first SIGTERM: finishing the firing in hand" \
  || fail "first SIGTERM: gone before its firing finished"
kill -TERM $pid
for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
kill -0 $pid 2>/dev/null && { fail "second SIGTERM: still running"; kill -KILL $pid; } \
  || ok "second SIGTERM: stopped at once"
wait $pid
check "second SIGTERM: exit 143" 143 $?
contains "second SIGTERM: says so" "again, stopping at once" "$(cat beat.err)"
exec 9>&-

# Found by attacking the binary: a bad `beat` flag was checked only after
# the store was opened and --schedules applied (so the schedules changed),
# and behind an unreachable backend it was never reported (Beat waited).
fresh beat-flags
printf -- '- {id: a, task: t, spec: "every:1m"}\n' > s.yaml
for flag in "--stats-every garbage" "--stats-every 1ns" "--clock-offset 25h" \
    "--lease-ttl 0s" "--idle-poll -1s"; do
  # shellcheck disable=SC2086
  out=$(timeout 5 "$stem" --store "file://$PWD/store.json" beat --once \
    --schedules s.yaml $flag 2>&1)
  check "bad $flag: usage error" 64 $?
  contains "bad $flag: names the flag" "${flag%% *}" "$out"
  [[ ! -e store.json ]] && ok "bad $flag: nothing applied" \
    || { fail "bad $flag: the schedules were applied"; rm -f store.json; }
done
unreachable_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
out=$(timeout 5 "$stem" --store "redis://127.0.0.1:$unreachable_port/0" beat \
  --stats-every garbage 2>&1)
check "bad flag, unreachable store: reported at once" 64 $?

echo "$failures failures"
[[ $failures -eq 0 ]]
