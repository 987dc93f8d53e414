#!/usr/bin/env bash
# The dashboard in a real browser: Debian's headless chromium loads GET /
# from a running `stem beat --http`, runs its script (which fetches
# /dashboard.json and draws with the embedded Chart.js), and the rendered
# DOM must show every entry, both charts, and an entry's error as text —
# markup in it escaped, never run.
set -u
stem="$(pwd)/$1"
work="${TEST_TMPDIR:-$(mktemp -d)}/dashboard"
mkdir -p "$work" && cd "$work" || exit 1
export HOME="$work"
unset STEM_SCHEDULE_STORE_URL STEM_SCHEDULE_FILE STEM_BROKER_URL STEM_LOCK_STORE_URL
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
pid=""
trap '[[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null' EXIT

cat > schedules.yaml <<'YAML'
- id: every-second
  task: demo.tick
  spec: "* * * * * *"
- id: hourly-report
  task: demo.report
  spec: "0 * * * *"
- id: poisoned
  task: demo.poison
  spec: every:10m
- id: paused-one
  task: demo.never
  spec: every:1m
  enabled: false
YAML
"$stem" schedule apply -f schedules.yaml --yes >/dev/null || { fail "apply"; exit 1; }
# An error written by another tool, with markup in it.
python3 - <<'PY'
import json
path = ".stem/schedules.json"
entries = json.load(open(path))
for entry in entries:
    if entry["id"] == "poisoned":
        entry["lastError"] = "<img src=x onerror=\"document.title='pwned'\">boom & co"
        entry["lastErrorAt"] = "2026-01-01T00:00:00.000Z"
json.dump(entries, open(path, "w"))
PY

"$stem" beat --broker file:tasks.jsonl --http 127.0.0.1:0 2>beat.err &
pid=$!
for _ in $(seq 100); do grep -q "serving http://" beat.err && break; sleep 0.1; done
port=$(grep -o 'serving http://127.0.0.1:[0-9]*' beat.err | grep -o '[0-9]*$')
[[ -n "$port" ]] || { fail "no port: $(cat beat.err)"; exit 1; }
sleep 2  # a few firings of every-second

type=$(curl -s -o /dev/null -w '%{content_type}' "http://127.0.0.1:$port/dashboard.json")
[[ "$type" == application/json* ]] && ok "/dashboard.json is JSON" || fail "content type $type"

chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
  --no-first-run --user-data-dir="$work/profile" --virtual-time-budget=10000 \
  --dump-dom "http://127.0.0.1:$port/" > dom.html 2> chromium.err
[[ -s dom.html ]] || { fail "chromium rendered nothing: $(tail -5 chromium.err); Beat said: $(tail -20 beat.err)"; exit 1; }

grep -q 'data-rendered="yes"' dom.html && ok "the page rendered its data" || fail "not rendered: $(head -c 600 dom.html)"
rows=$(python3 - <<'PY'
import html.parser
class Rows(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.table = None; self.rows = {}; self.cells = []; self.in_td = False
    def handle_starttag(self, tag, attrs):
        if tag == "table": self.table = dict(attrs).get("id")
        if tag == "tr": self.cells = []
        if tag == "td": self.in_td = True; self.cells.append("")
    def handle_endtag(self, tag):
        if tag == "td": self.in_td = False
        if tag == "tr" and self.cells: self.rows.setdefault(self.table, []).append(self.cells)
    def handle_data(self, data):
        if self.in_td: self.cells[-1] += data
p = Rows(); p.feed(open("dom.html").read())
for row in p.rows.get("schedules", []): print("\t".join(row))
for row in p.rows.get("beats", []): print("beat\t" + "\t".join(row))
PY
)
for id in every-second hourly-report poisoned paused-one; do
  echo "$rows" | cut -f2 | grep -qx "$id" && ok "row for $id" || fail "no row for $id: $rows"
done
echo "$rows" | grep -P '^paused\tpaused-one\t' >/dev/null && ok "paused-one shown paused" || fail "paused state: $rows"
echo "$rows" | grep -P "^[a-z]+\tpoisoned\t.*\t<img src=x onerror=\"document.title='pwned'\">boom & co$" >/dev/null \
  && ok "the error is shown as the text it is" || fail "error cell: $(echo "$rows" | grep poisoned)"
grep -q '&lt;img src=x onerror=' dom.html && ok "its markup is escaped in the DOM" || fail "not escaped"
grep -qi '<img' dom.html && fail "an <img> element was created from entry data" || ok "no element made from entry data"
grep -q '<title>pwned' dom.html && fail "the error's script ran" || ok "the error's script never ran"
# Chart.js sizes the canvas it draws on; the page marks each chart drawn
# and what it plotted.
timeline=$(grep -o '<canvas id="timeline"[^>]*>' dom.html)
[[ "$timeline" == *'style="display: block;'*'data-chart="ready"'* ]] && ok "timeline chart drawn" \
  || fail "no timeline chart: $timeline"
points=$(echo "$timeline" | grep -o 'data-points="[0-9]*"' | grep -o '[0-9]*')
[[ "${points:-0}" -ge 60 ]] && ok "timeline plots $points firings in the next hour" || fail "timeline points: '$points'"
drift=$(grep -o '<canvas id="drift"[^>]*>' dom.html)
[[ "$drift" == *'style="display: block;'*'data-chart="ready"'* ]] && ok "drift chart drawn" || fail "no drift chart: $drift"
firings=$(echo "$drift" | grep -o 'data-firings="[0-9]*"' | grep -o '[0-9]*')
[[ "${firings:-0}" -ge 1 ]] && ok "drift chart counts $firings firings" || fail "drift firings: '$firings'"
echo "$rows" | grep -P "^beat\t[^\t]*-$pid-" >/dev/null && ok "live Beats list this Beat" || fail "beats: $(echo "$rows" | grep '^beat')"
grep -q 'Summary: due=' dom.html && ok "summary line shown" || fail "no summary"
grep -q 'Health: <span id="health" class="ok">ok: last pass' dom.html && ok "health shown" \
  || fail "health: $(grep -o 'id="health"[^<]*' dom.html)"

kill -TERM "$pid"; wait "$pid"; pid=""
echo "$failures failures"
[[ $failures -eq 0 ]]
