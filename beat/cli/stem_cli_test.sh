#!/usr/bin/env bash
# End-to-end checks of the real `stem` binary against a temporary file
# store: output, errors, exit codes, all-or-nothing apply, concurrency.
set -u
stem="$(pwd)/$1"
examples="$(pwd)/examples"
# Time comes from the clock stem reads (STEM_CLOCK_OFFSET), never `date`.
clock() { "$test_clock" now "$@"; }
test_clock="$(pwd)/$TEST_CLOCK"
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
contains() {  # name, needle, haystack
  if [[ "$3" != *"$2"* ]]; then
    echo "FAIL $1: no \"$2\" in:"
    echo "$3" | head -20
    failures=$((failures + 1))
  else
    echo "ok   $1"
  fi
}

work="${TEST_TMPDIR:-$(mktemp -d)}/cli"
mkdir -p "$work" && cd "$work" || exit 1
unset STEM_SCHEDULE_STORE_URL STEM_SCHEDULE_FILE

# ---- dry-run of a spec (no store) ----
out=$("$stem" schedule dry-run --spec '30 2 * * *' --tz America/New_York \
      --from 2026-03-07T00:00:00Z --count 3)
check "dst dry-run exit" 0 $?
check "dst dry-run output" $'2026-03-07T07:30:00Z\n2026-03-08T07:00:00Z\n2026-03-09T06:30:00Z' "$out"
out=$("$stem" schedule dry-run --spec 'every:30s' --from 2026-01-01T00:00:10Z \
      --count 2 --output json)
check "json output" '["2026-01-01T00:00:30Z","2026-01-01T00:01:00Z"]' "$out"
err=$("$stem" schedule dry-run --spec '0 0 32 * *' 2>&1 >/dev/null)
check "bad cron exit" 64 $?
check "bad cron message" \
  'stem: --spec: cron: field 3 (day of month): 32 is out of range 1-31 in "0 0 32 * *"' "$err"
"$stem" schedule dry-run >/dev/null 2>&1
check "dry-run needs --id or --spec" 64 $?
"$stem" frobnicate >/dev/null 2>&1
check "unknown command is a usage error" 64 $?
"$stem" schedule dry-run --help >/dev/null 2>&1
check "--help exits 0" 0 $?

# ---- the default store: ./.stem/schedules.json ----
for example in schedules.yaml schedules.json schedules.textproto; do
  rm -rf .stem
  out=$("$stem" schedule apply -f "$examples/$example" --yes)
  check "apply $example exit" 0 $?
  contains "apply $example reports creations" "created" "$out"
  [[ -s .stem/schedules.json ]] || { echo "FAIL $example: no .stem/schedules.json"; failures=$((failures + 1)); }
done
rm -rf .stem
"$stem" schedule apply -f "$examples/schedules.yaml" --yes >/dev/null
out=$("$stem" schedule apply -f "$examples/schedules.yaml" --yes)
contains "re-apply changes nothing" "0 created, 0 updated, 6 unchanged" "$out"

out=$("$stem" schedule list)
check "list exit" 0 $?
contains "list shows the cron entry" "reports.nightly" "$out"
contains "list shows the zone" "America/New_York" "$out"
count=$("$stem" schedule list --output json | grep -o '"taskName"' | wc -l)
check "list json has every entry" 6 "$count"

# ---- export: what apply takes back unchanged, in every format ----
"$stem" schedule disable payroll --note "year end" >/dev/null
for format in yaml json textproto; do
  "$stem" schedule export -o "export.$format" 2>/dev/null
  check "export $format exit" 0 $?
  out=$("$stem" schedule apply -f "export.$format" --yes)
  contains "export $format applies back unchanged" "0 created, 0 updated, 6 unchanged" "$out"
done
contains "export keeps the pause note" "paused year end" "$("$stem" schedule show payroll)"
check "export to stdout is the yaml file" "$(cat export.yaml)" "$("$stem" schedule export)"
check "--format wins over the extension" "$(cat export.json)" \
  "$("$stem" schedule export --format json)"
mkdir -p elsewhere
(cd elsewhere && "$stem" schedule apply -f ../export.textproto --yes >/dev/null &&
  "$stem" schedule export -o again.textproto 2>/dev/null)
check "an export applied elsewhere exports the same" "$(cat export.textproto)" \
  "$(cat elsewhere/again.textproto)"
"$stem" schedule export -o export.txt >/dev/null 2>&1
check "export to an unknown extension is a usage error" 64 $?
"$stem" schedule export --format textproto -o clash.yaml >/dev/null 2>&1
check "a --format that contradicts -o is a usage error" 64 $?
before_export=$(cat .stem/schedules.json)
err=$("$stem" schedule export -o .stem/schedules.json 2>&1)
check "export over the store's own file is refused" 64 $?
contains "it says why" "is the store's own file" "$err"
check "the store is untouched" "$before_export" "$(cat .stem/schedules.json)"
err=$("$stem" schedule apply -f export.yaml --yes 2>&1 >/dev/null)
# The line of payroll's zone in the export (which entries come before it,
# and how long they are, depends on what has fired by today).
zone_line=$(grep -n 'timezone: "Europe/London"' export.yaml | cut -d: -f1)
contains "a YAML export's warnings name the entry's line, not line 1" \
  "export.yaml:${zone_line}: schedules[4] (id \"payroll\"): timezone" "$err"
"$stem" schedule enable payroll >/dev/null

out=$("$stem" schedule show reports.nightly)
contains "show spec" "30 2 * * *" "$out"
contains "show jitter" "500ms" "$out"
"$stem" schedule show nope >/dev/null 2>&1
check "show missing id exits 66" 66 $?

out=$("$stem" schedule disable payroll --note "quarterly audit")
check "disable exit" 0 $?
contains "disabled entry is paused" "paused quarterly audit" "$("$stem" schedule show payroll)"
"$stem" schedule enable payroll >/dev/null
contains "enabled again" "enabled         yes" "$("$stem" schedule show payroll)"

# dry-run --id: the entry's zone and jitter (0..500ms on each 02:30 New York).
out=$("$stem" schedule dry-run --id reports.nightly --from 2026-03-07T00:00:00Z --count 3)
check "dry-run --id exit" 0 $?
[[ "$out" =~ ^2026-03-07T07:30:00(\.[0-9]+)?Z$'\n'2026-03-08T07:00:00(\.[0-9]+)?Z$'\n'2026-03-09T06:30:00(\.[0-9]+)?Z$ ]] \
  && echo "ok   dry-run --id follows DST with jitter" \
  || { echo "FAIL dry-run --id: $out"; failures=$((failures + 1)); }
again=$("$stem" schedule dry-run --id reports.nightly --from 2026-03-07T00:00:00Z --count 3)
check "dry-run --id is deterministic" "$out" "$again"

"$stem" schedule delete heartbeat >/dev/null 2>&1
check "delete without --yes is refused" 64 $?
"$stem" schedule delete heartbeat --yes >/dev/null
check "delete --yes" 0 $?
"$stem" schedule show heartbeat >/dev/null 2>&1
check "deleted entry is gone" 66 $?

# ---- the examples mean the same whatever the date: before and after the
# one-off they name (2099-12-01T09:00Z), across 2038, on a leap day ----
for at in 2026-11-30T23:59:59Z 2038-01-19T03:14:10Z 2099-12-01T08:59:59Z \
          2099-12-01T09:00:01Z 2104-02-29T12:00:00Z; do
  dated="dated-${at//:/}"
  mkdir -p "$dated"
  for example in schedules.yaml schedules.json schedules.textproto; do
    export STEM_SCHEDULE_FILE="$dated/$example.json"
    out=$(STEM_CLOCK_OFFSET="@$at" "$stem" schedule apply -f "$examples/$example" --yes 2>&1)
    check "at $at: apply $example exit" 0 $?
    out=$(STEM_CLOCK_OFFSET="@$at" "$stem" schedule apply -f "$examples/$example" --yes 2>/dev/null)
    contains "at $at: re-apply $example changes nothing" "0 created, 0 updated," "$out"
    STEM_CLOCK_OFFSET="@$at" "$stem" schedule export -o "$dated/$example.yaml" 2>/dev/null
    out=$(STEM_CLOCK_OFFSET="@$at" "$stem" schedule apply -f "$dated/$example.yaml" --yes 2>/dev/null)
    contains "at $at: the export of $example applies back unchanged" "0 created, 0 updated," "$out"
  done
  export STEM_SCHEDULE_FILE="$dated/schedules.yaml.json"
  # Applied before its time, the one-off waits, then fires once when its
  # time comes; applied after, it is finished at once and never fires.
  STEM_CLOCK_OFFSET="@$at" "$stem" beat --once --broker "file:$dated/tasks.jsonl" 2>/dev/null
  out=$(STEM_CLOCK_OFFSET="@$at" "$stem" schedule show launch.announcement)
  if [[ "$at" > 2099-12-01T09:00:00Z ]]; then
    contains "at $at: applied after its time, the one-off is finished" \
      "finished: no fire time left" "$out"
    STEM_CLOCK_OFFSET="@2105-01-01T00:00:00Z" "$stem" beat --once --broker "file:$dated/tasks.jsonl" 2>/dev/null
    check "at $at: it never fires" 0 "$(cat "$dated/tasks.jsonl" 2>/dev/null | grep -c 'marketing.announce')"
  else
    contains "at $at: the one-off waits for its time" "2099-12-01T09:00:00" \
      "$(echo "$out" | sed -n '/^next runs/,/^$/p')"
    check "at $at: not fired before its time" 0 "$(cat "$dated/tasks.jsonl" 2>/dev/null | grep -c 'marketing.announce')"
    STEM_CLOCK_OFFSET="@2099-12-01T09:00:00.200Z" "$stem" beat --once --broker "file:$dated/tasks.jsonl" 2>/dev/null
    STEM_CLOCK_OFFSET="@2099-12-01T09:00:05Z" "$stem" beat --once --broker "file:$dated/tasks.jsonl" 2>/dev/null
    check "at $at: fired once at its time" 1 "$(cat "$dated/tasks.jsonl" 2>/dev/null | grep -c 'marketing.announce')"
  fi
done
unset STEM_SCHEDULE_FILE

# ---- STEM_CLOCK_OFFSET: a bad value stops stem at once, never a silent 0 ----
for bad in soon +5 "@2032-02-30T00:00:00Z" +900000h -30000d; do
  err=$(STEM_CLOCK_OFFSET="$bad" "$stem" schedule list 2>&1)
  check "STEM_CLOCK_OFFSET=$bad exits 64" 64 $?
  contains "STEM_CLOCK_OFFSET=$bad is named" "STEM_CLOCK_OFFSET=\"$bad\"" "$err"
done
err=$(STEM_CLOCK_OFFSET=$'1h\n\e[31mred' "$stem" schedule list 2>&1)
check "a hostile STEM_CLOCK_OFFSET exits 64" 64 $?
check "its message is one line" 1 "$(printf '%s\n' "$err" | wc -l)"
contains "its value is escaped" 'STEM_CLOCK_OFFSET="1h\n\x1b[31mred"' "$err"
STEM_CLOCK_OFFSET=@1970-01-01T00:00:00Z "$stem" beat --once --clock-offset -24h \
  --broker file:never.jsonl >/dev/null 2>&1
check "a Beat's clock may not go before 1970 (STEM_CLOCK_OFFSET and --clock-offset)" 64 $?
check "the clock's offset is read: @2040 is 2040" "2040-02-29T23:59" \
  "$(STEM_CLOCK_OFFSET=@2040-02-29T23:59:30Z "$test_clock" now 0 iso | cut -c1-16)"

# ---- all or nothing: one bad entry among good ones changes nothing ----
before=$(cat .stem/schedules.json)
cat > bad.yaml <<'YAML'
- id: good.one
  task: t
  spec: every:1m
- id: bad.one
  task: t
  spec: "61 * * * *"
- id: good.two
  task: t
  spec: every:2m
YAML
err=$("$stem" schedule apply -f bad.yaml --yes 2>&1 >/dev/null)
check "bad apply exits 64" 64 $?
check "bad apply names file, line, entry, field" \
  'stem: bad.yaml:6: schedules[1] (id "bad.one"): spec: cron: field 1 (minute): 61 is out of range 0-59 in "61 * * * *"' "$err"
check "bad apply changed nothing" "$before" "$(cat .stem/schedules.json)"
out=$("$stem" schedule apply -f bad.yaml --dry-run 2>&1)
check "dry-run of a bad file fails too" 64 $?

# --dry-run writes nothing.
cat > more.json <<'JSON'
[{"id": "extra", "task": "t", "spec": "every:1h"}]
JSON
out=$("$stem" schedule apply -f more.json --dry-run)
contains "dry-run says what would happen" "would be created  extra" "$out"
check "dry-run wrote nothing" "$before" "$(cat .stem/schedules.json)"

# ---- a corrupt store file is reported and left alone ----
mkdir -p corrupt && printf '[{"id": "x", ' > corrupt/schedules.json
err=$(STEM_SCHEDULE_FILE=corrupt/schedules.json "$stem" schedule list 2>&1)
check "corrupt store exits 65" 65 $?
contains "corrupt store names the file" "corrupt/schedules.json: cannot read the schedule file" "$err"
STEM_SCHEDULE_FILE=corrupt/schedules.json "$stem" schedule apply -f more.json --yes >/dev/null 2>&1
check "apply onto a corrupt store exits 65" 65 $?
check "corrupt file untouched" '[{"id": "x", ' "$(cat corrupt/schedules.json)"

# ---- plugins ----
err=$("$stem" --store mysql://u:hunter2@127.0.0.1:1/db schedule list 2>&1)
check "missing plugin exits 78" 78 $?
contains "missing plugin says which file" "libbeat_store_mysql.so" "$err"
[[ "$err" != *hunter2* ]] && echo "ok   credentials not printed" \
  || { echo "FAIL password printed: $err"; failures=$((failures + 1)); }
err=$("$stem" --store postgres://u:hunter2@127.0.0.1:1/db schedule list 2>&1)
check "postgres nobody listens: exit 69" 69 $?
contains "postgres nobody listens: says where" "cannot connect to PostgreSQL at 127.0.0.1:1/db" "$err"
[[ "$err" != *hunter2* ]] && echo "ok   postgres credentials not printed" \
  || { echo "FAIL password printed: $err"; failures=$((failures + 1)); }
err=$("$stem" --store redis://:hunter2@127.0.0.1:1/0 schedule list 2>&1)
check "redis nobody listens: exit 69" 69 $?
contains "redis nobody listens: says where" "cannot connect to redis at 127.0.0.1:1/0" "$err"
[[ "$err" != *hunter2* ]] && echo "ok   redis credentials not printed" \
  || { echo "FAIL password printed: $err"; failures=$((failures + 1)); }
err=$("$stem" --store rediss://127.0.0.1:1/0 schedule list 2>&1)
contains "rediss refused" "TLS is not supported by this build (hiredis 0.14)" "$err"
"$stem" --store nosuch://x schedule list >/dev/null 2>&1
check "unknown scheme exits 78" 78 $?
out=$("$stem" plugins list)
check "plugins list exit" 0 $?
contains "plugins list shows the file store" "libbeat_store_file.so" "$out"
contains "plugins list shows the memory lock" "libbeat_lock_memory.so" "$out"
out=$("$stem" --store memory://cli schedule apply -f "$examples/schedules.json" --yes)
check "memory store works from the CLI" 0 $?

# ---- two concurrent applies lose nothing ----
for side in a b; do
  {
    echo "["
    for i in $(seq 1 150); do
      [[ $i -gt 1 ]] && echo ","
      echo "{\"id\": \"$side-$i\", \"task\": \"t\", \"spec\": \"every:${i}m\"}"
    done
    echo "]"
  } > "$side.json"
done
export STEM_SCHEDULE_FILE=concurrent/schedules.json
"$stem" schedule apply -f a.json --yes >/dev/null 2>a.err &
pid_a=$!
"$stem" schedule apply -f b.json --yes >/dev/null 2>b.err &
pid_b=$!
wait $pid_a; status_a=$?
wait $pid_b; status_b=$?
check "concurrent apply a" 0 $status_a
check "concurrent apply b" 0 $status_b
count=$("$stem" schedule list --output json | grep -o '"taskName"' | wc -l)
check "both concurrent applies landed" 300 "$count"
unset STEM_SCHEDULE_FILE

# ---- observe schedules, show, history: a store with known state ----
export STEM_SCHEDULE_FILE=observe/schedules.json
mkdir -p observe
past=$(clock -10m iso | sed 's/Z$/.000Z/')
just=$(clock -100s iso | sed 's/Z$/.000Z/')
soon=$(clock +1h iso | sed 's/Z$/.000Z/')
later=$(clock +2h iso | sed 's/Z$/.000Z/')
cat > observe/schedules.json <<JSON
[
 {"id":"late","taskName":"t.late","queue":"default","spec":"every:1h","nextRunAt":"$past","enabled":true,"driftMs":120},
 {"id":"graceful","taskName":"t.g","queue":"q2","spec":"every:1h","nextRunAt":"$just","enabled":true,"misfireGraceMs":600000},
 {"id":"broken","taskName":"t.b","queue":"default","spec":"every:1h","nextRunAt":"$later","enabled":true,
  "lastError":"broker said: no\nsecond line","lastErrorAt":"$past","totalRunCount":4,"driftMs":2500},
 {"id":"fine","taskName":"t.f","queue":"default","spec":"every:1h","nextRunAt":"$soon","enabled":true},
 {"id":"held","taskName":"t.h","queue":"default","spec":"every:1h","nextRunAt":"$soon","enabled":false}
]
JSON
out=$("$stem" observe schedules)
check "observe exit" 0 $?
check "observe summary line" "Summary: due=2 overdue=1 maxDrift=2500ms paused=1 failing=1" "$(echo "$out" | head -1)"
order=$(echo "$out" | tail -n +3 | awk '{print $1 ":" $2}' | tr '\n' ' ')
check "observe rows most urgent first" "overdue:late due:graceful failing:broken scheduled:fine paused:held " "$order"
contains "observe shows the last error on one line" 'broker said: no\nsecond line' "$out"
out=$("$stem" observe schedules --output json)
contains "observe json summary" '"summary":{"due":2,"entries":5,"failing":1,"finished":0,"maxDriftMs":2500,"overdue":1,"paused":1,"unreadable":0}' "$out"
contains "observe json row" '"id":"late"' "$out"
out=$("$stem" observe schedules --interval 5ms 2>&1)
check "observe bad interval exit" 64 $?
contains "observe bad interval names the flag" '--interval "5ms"' "$out"
out=$(timeout 1.5 "$stem" observe schedules --watch --interval 200ms)
snapshots=$(echo "$out" | grep -c '^Summary: ')
[[ $snapshots -ge 3 ]] && check "observe --watch redraws" ok ok || check "observe --watch redraws" ">=3" "$snapshots"

"$stem" beat --once --broker file:observe/tasks.jsonl 2>/dev/null
check "beat --once fires the due entries" 2 "$(wc -l < observe/tasks.jsonl)"
out=$("$stem" schedule show late)
check "show exit" 0 $?
contains "show lists the next runs" "next runs (UTC)" "$out"
next_count=$(echo "$out" | sed -n '/^next runs/,/^$/p' | grep -cE '^  [0-9]{4}-[0-9]{2}-[0-9]{2}T')
check "show: 10 next runs" 10 "$next_count"
contains "show lists the last runs" "last runs" "$out"
contains "show: the run just made" "ok" "$(echo "$out" | sed -n '/^last runs/,$p')"
out=$("$stem" schedule show fine)
contains "show: no runs yet" "none recorded" "$out"
out=$("$stem" schedule history late --output json)
contains "history json: the run" '"success":true' "$out"
contains "history json: its due time" "\"scheduledAt\":\"${past%.000Z}Z\"" "$out"
out=$("$stem" schedule history late --limit 0 2>&1)
check "history --limit 0 exit" 64 $?
out=$("$stem" schedule history nosuch 2>&1)
check "history of an unknown id exit" 66 $?
contains "history of an unknown id says so" 'no entry "nosuch"' "$out"
unset STEM_SCHEDULE_FILE

# ---- the audit log after a scripted sequence of changes ----
export STEM_SCHEDULE_FILE=audit/schedules.json
mkdir -p audit
printf -- '- id: nightly\n  task: reports.run\n  spec: "0 2 * * *"\n' > audit/v1.yaml
printf -- '- id: nightly\n  task: reports.run\n  spec: "30 2 * * *"\n  jitterMs: 500\n' > audit/v2.yaml
"$stem" schedule apply -f audit/v1.yaml --yes >/dev/null
"$stem" --actor "alice (oncall)" schedule apply -f audit/v2.yaml --yes --note "later, after backups" >/dev/null
"$stem" schedule disable nightly --note "quarterly audit" >/dev/null
"$stem" schedule enable nightly >/dev/null
out=$("$stem" schedule log)
check "log exit" 0 $?
actions=$(echo "$out" | tail -n +2 | awk '{print $3}' | tr '\n' ' ')
check "log: newest first" "enabled disabled updated created " "$actions"
me="$(id -un)@$(hostname)"
contains "log: default actor is user@host" "$me" "$(echo "$out" | grep ' created ')"
contains "log: --actor and --note kept" "alice (oncall)  later, after backups" "$(echo "$out" | grep ' updated ')"
contains "log: the spec change old -> new" "jitterMs: - -> 500" "$(echo "$out" | grep ' updated ')"
contains "log: disable's note" "enabled: true -> false; pauseNote: - -> quarterly audit" "$(echo "$out" | grep ' disabled ')"
out=$("$stem" schedule log --output json --limit 1)
contains "log json" '"action":"enabled"' "$out"
contains "log json changes" '{"field":"enabled","new":"true","old":"false"}' "$out"
"$stem" schedule delete nightly --yes --note "replaced by weekly" >/dev/null
out=$("$stem" schedule log nightly --limit 1)
contains "log: delete recorded, with why" "deleted  $me  replaced by weekly" "$out"
# Output that cannot be written is a failure (found by an attack: exit 0).
err=$("$stem" schedule log 2>&1 > /dev/full)
check "a full stdout exit" 74 $?
contains "a full stdout says so" "cannot write the output: No space left on device" "$err"
err=$(timeout 10 "$stem" observe schedules --watch --interval 100ms 2>&1 > /dev/full)
check "observe --watch into a full stdout stops" 74 $?
# --actor and --note are checked before anything changes (found by an
# attack: bad UTF-8 dropped the record, with protobuf's errors on stderr).
printf -- '- id: checked\n  task: t\n  spec: every:1h\n' > audit/checked.yaml
before=$("$stem" schedule log --output json)
out=$("$stem" --actor $'\xff' schedule apply -f audit/checked.yaml --yes 2>&1)
check "--actor not UTF-8: exit" 64 $?
check "--actor not UTF-8: one line naming it" 'stem: --actor: not UTF-8 text: "\xff"' "$out"
out=$("$stem" schedule apply -f audit/checked.yaml --yes --note "$(head -c 5000 /dev/zero | tr '\0' x)" 2>&1)
check "--note too long: exit" 64 $?
out=$("$stem" --actor "  " schedule disable checked 2>&1)
check "--actor blank: exit" 64 $?
contains "--actor blank: says so" "--actor: blank" "$out"
"$stem" schedule list 2>/dev/null | grep -q '^checked ' && check "refused changes applied nothing" none applied || true
check "refused changes recorded nothing" "$before" "$("$stem" schedule log --output json)"
# Enabling what is enabled changes nothing worth a record.
"$stem" schedule apply -f audit/checked.yaml --yes >/dev/null
"$stem" schedule enable checked >/dev/null
check "a no-op enable is not recorded" "created" "$("$stem" schedule log checked --output json | grep -o '"action":"[a-z]*"' | cut -d'"' -f4 | tr '\n' ' ' | xargs)"
out=$("$stem" schedule log --limit 0 2>&1)
check "log --limit 0 exit" 64 $?
out=$("$stem" --store memory://audit-empty schedule log)
check "log of an empty store" "no changes recorded" "$out"
unset STEM_SCHEDULE_FILE

[[ $failures -eq 0 ]] || { echo "$failures failure(s)"; exit 1; }
echo "all checks passed"
