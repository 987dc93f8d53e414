#!/usr/bin/env bash
# Beat under systemd's notify protocol (Type=notify, WatchdogSec=), against
# a stand-in for systemd listening on NOTIFY_SOCKET: READY=1 once running,
# WATCHDOG=1 at half the interval while the loop runs, none while the loop
# is stuck on the store (its lock held by a neighbour), pings again after,
# STOPPING=1 on SIGTERM.
set -u
stem="$(pwd)/$1"
work="${TEST_TMPDIR:-$(mktemp -d)}/notify"
mkdir -p "$work" && cd "$work" || exit 1
unset STEM_SCHEDULE_STORE_URL STEM_SCHEDULE_FILE STEM_BROKER_URL STEM_LOCK_STORE_URL
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# The stand-in: every datagram, one line per message, with its time. Its
# socket in a short directory (a socket path has at most 107 bytes).
sockdir=$(mktemp -d /tmp/stem-notify.XXXXXX)
trap 'rm -rf "$sockdir"' EXIT
export SOCK="$sockdir/notify.sock"
python3 - <<'PY' &
import socket, time, os
path = os.environ["SOCK"]
if os.path.exists(path): os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(60)
with open("notify.log", "w", buffering=1) as log:
    while True:
        try:
            data = s.recv(4096).decode()
        except socket.timeout:
            break
        for line in data.split("\n"):
            log.write("%.3f %s\n" % (time.time(), line))
        if "STOPPING=1" in data:
            break
PY
listener=$!
for _ in $(seq 50); do [[ -S "$SOCK" ]] && break; sleep 0.1; done

printf -- '- id: tick\n  task: t.tick\n  spec: every:1s\n' > s.yaml
NOTIFY_SOCKET="$SOCK" WATCHDOG_USEC=1000000 \
  "$stem" beat --schedules s.yaml --broker file:tasks.jsonl 2>beat.err &
pid=$!
sleep 3
grep -q ' READY=1$' notify.log && ok "READY=1 once running" || fail "no READY=1: $(cat notify.log)"
grep -q " STATUS=running as .*-$pid-" notify.log && ok "STATUS says who runs" || fail "no STATUS"
pings=$(grep -c ' WATCHDOG=1$' notify.log)
[[ $pings -ge 4 ]] && ok "$pings watchdog pings in 3 s (every 0.5 s)" || fail "only $pings pings"

# The loop stuck on the store: the pings stop (systemd would restart it).
exec 8>.stem/schedules.json.lock
flock 8
sleep 4.5
last=$(grep ' WATCHDOG=1$' notify.log | tail -1 | cut -d' ' -f1)
now=$(date +%s.%N)
silent=$(python3 -c "print(int(($now - ${last:-0}) * 1000))")
[[ $silent -ge 1500 ]] && ok "no ping for ${silent} ms while the loop is stuck" || fail "pinged ${silent} ms ago with the loop stuck"
exec 8>&-
sleep 2.5
last=$(grep ' WATCHDOG=1$' notify.log | tail -1 | cut -d' ' -f1)
now=$(date +%s.%N)
since=$(python3 -c "print(int(($now - ${last:-0}) * 1000))")
[[ $since -le 1000 ]] && ok "pings again once the lock is let go" || fail "last ping ${since} ms ago after the lock went"

kill -TERM "$pid"
wait "$pid"
code=$?
[[ $code -eq 0 ]] && ok "SIGTERM: exit 0" || fail "exit $code: $(tail -2 beat.err)"
wait "$listener"
grep -q ' STOPPING=1$' notify.log && ok "STOPPING=1 on the way out" || fail "no STOPPING=1"

# Without NOTIFY_SOCKET (not under systemd): nothing is sent, all runs.
"$stem" beat --once --broker file:tasks.jsonl 2>once.err
[[ $? -eq 0 ]] && ok "not under systemd: runs as ever" || fail "once: $(cat once.err)"

echo "$failures failures"
[[ $failures -eq 0 ]]
