#!/usr/bin/python3
"""A stand-in for Stem's own Beat on a Redis store, for mixed-fleet tests.

It does what Stem's RedisScheduleStore does (kingwill101/stem,
packages/stem_redis/lib/src/scheduler/redis_schedule_store.dart):
due() reads up to 100 ids from `<ns>:schedule:index` with ZRANGEBYSCORE
-inf..now, takes `<ns>:schedule:<id>:lock` with SET 1 NX PX 5000 per entry
(skipping one it cannot take), reads the hash, and releases the lock of one
it will not fire; markExecuted() rewrites the run fields and the index score
in WATCH/MULTI/EXEC, deletes the lock, and appends to the history stream.
It fires only `every:` interval specs (nominal + everyMs), which is all the
test gives it. Where Stem's Beat would enqueue the task (after due(),
before markExecuted()), it adds (id, nominal time) to `<ns>:stem:fired`.

Usage: stem_redis_beat.py PORT NAMESPACE SECONDS [ENQUEUE_MS]
ENQUEUE_MS (default 0) is how long each enqueue takes, holding the lock: a
slow Stem Beat, whose locks our Beat meets. Prints the number of firings.
"""
import datetime
import json
import os
import sys
import time

import redis


# The clock the test's Beats read: the system's, moved by the whole seconds
# of STEM_CLOCK_OFFSET the driver passes (STEM_CLOCK_OFFSET_SECONDS).
OFFSET_S = int(os.environ.get("STEM_CLOCK_OFFSET_SECONDS", "0"))


def now_s():
    return time.time() + OFFSET_S


def iso(ms):
    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def parse_iso(text):
    moment = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(moment.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def main():
    port, ns, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    enqueue_s = (float(sys.argv[4]) if len(sys.argv) > 4 else 0) / 1000
    r = redis.Redis(port=port, decode_responses=True)
    index = ns + ":schedule:index"
    fired = 0
    end = time.time() + seconds  # how long to run: real time
    while time.time() < end:
        now = int(now_s() * 1000)
        for entry_id in r.zrangebyscore(index, "-inf", now, start=0, num=100):
            key = ns + ":schedule:" + entry_id
            lock = key + ":lock"
            if not r.set(lock, "1", nx=True, px=5000):
                continue  # held: by our Beat or another Stem Beat
            data = r.hgetall(key)
            if not data or data.get("enabled", "true") != "true":
                r.delete(lock)
                continue
            spec = json.loads(data["spec"])
            scheduled = parse_iso(data["nextRunAt"])
            executed = int(now_s() * 1000)
            # Stem's Beat enqueues the task here, before markExecuted.
            r.xadd(ns + ":stem:fired", {"id": entry_id,
                                        "scheduledAt": iso(scheduled)})
            fired += 1
            time.sleep(enqueue_s)
            with r.pipeline() as pipe:
                pipe.watch(key)
                version = int(pipe.hget(key, "version") or 0)
                following = scheduled + int(spec["everyMs"])
                pipe.multi()
                pipe.hset(key, mapping={
                    "lastRunAt": iso(executed),
                    "nextRunAt": iso(following),
                    "totalRunCount": str(int(data.get("totalRunCount") or 0) + 1),
                    "lastSuccessAt": iso(executed),
                    "version": str(version + 1),
                })
                pipe.zadd(index, {entry_id: following})
                pipe.delete(lock)
                try:
                    pipe.execute()
                except redis.WatchError:
                    r.delete(lock)
                    continue
            r.xadd(key + ":history", {
                "scheduledAt": iso(scheduled), "executedAt": iso(executed),
                "success": "true", "durationMs": "0", "error": "",
                "by": "stem"})
            r.xtrim(key + ":history", maxlen=1000, approximate=True)
        time.sleep(0.05)
    print(fired)


if __name__ == "__main__":
    main()
