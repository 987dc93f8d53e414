#!/usr/bin/env python3
"""Chaos for `stem beat`: several Beats share one store while processes are
killed, stopped and the server restarted; then every firing is checked.

One command (loopback only, bounded in time):

  python3 tools/chaos/chaos.py --stem bazel-bin/beat/cli/stem \\
      --backend redis --duration 600 --beats 3 --faults kill,stop,restart

It starts the backend itself (a redis-server or a PostgreSQL it initdb's,
on a free loopback port; or a file store and file broker in a temporary
directory; with --topology sentinel a Redis primary, a replica and three
Sentinels, with --topology standby a PostgreSQL primary and a streaming
standby on a multi-host URL), applies a mix of schedules (second-granularity intervals and
cron with seconds, some with jitter, every misfire policy), runs the Beats
and, for the duration, injects the faults asked for:

  kill     SIGKILL of a random Beat every 2-5 s, restarted after 0.2-3 s
  stop     SIGSTOP of a random Beat for longer than its lease, then SIGCONT
  restart  the store's server stopped for 1-3 s and started again (Redis
           and PostgreSQL; for them the broker is the same server, so this
           is a broker outage too)
  failover (--topology sentinel or standby) SIGKILL of the primary, the
           replica promoted (by the Sentinels; by `pg_ctl promote`), the
           old primary back as a replica
  freeze   (--topology sentinel) SIGSTOP of the primary for 8 s, past the
           failover: it wakes as a stale primary
  partition one Beat cut off from every server for its lease TTL or 6 s,
           whichever is longer, plus 1-4 s (what it sent meanwhile is delivered when the link heals, as
           TCP would); its /healthz must say 503 while cut, 200 after
  latency  one Beat's link slowed by 100-500 ms (+-20 %), 2 % of the data
           a further 200-600 ms late (a retransmission), for 4-10 s

Partitions and latency go through a TCP proxy of the tool's own per Beat
and server (FaultProxy below: no netem, no root needed).

Then the Beats run fault-free for a while, are stopped, and every envelope
is read back from the broker. Each (entry, nominal time) whose due time
(nominal plus the entry's deterministic jitter) fell inside the fault window
is looked up by its envelope id, which is derived here independently of the
C++ code (UUIDv8 over SHA-256 of namespace, id and the RFC 3339 time):

  - strict entries (misfire grace 60 s, or fire_all) must be in the broker
    exactly once;
  - fire_once and skip entries with the default 1 s grace may miss a firing
    that went out later than the grace (their policy), never twice;
  - no envelope may reach the broker before its due time (by the server's
    clock: the Redis stream id, the PostgreSQL row's created_at; the file
    broker has only the enqueuedAt the Beat wrote), or, with --skew, before
    its due time less the skew of Beat 0's clock; none may have an id that
    no firing of any entry has (a corrupted or invented firing);
  - a firing later than the lease TTL + 2 s (a Beat died holding it, one
    look-ahead, a second of slack) + the skew after its due time, or after
    the latest SIGKILL or SIGSTOP of a Beat since (when the Beats that
    take it over die one after another, each hands it on within the TTL),
    outside a server restart
    (from that long before it to 15 s after it), is counted late (a
    failure with --fail-late).

A Beat that exits by itself (it should ride out every fault above) is
started again, as a supervisor would, and counted. Prints one summary line:
firings expected, delivered, duplicates, missing, early, late; p50/p99/max
delay; the failover gap (for each SIGKILL or SIGSTOP away from a restart,
how long after it the slowest firing due around it went out); and the
split of firings between the Beats (from their --stats-every totals).
Exits 1 on any duplicate, miss (strict), early or unknown firing, run count
that differs from the broker, Beat that exited by itself, or /healthz that
was wrong about a partition; 2 when the run itself could not be made.
"""

import argparse
import bisect
import collections
import ctypes
import hashlib
import json
import os
import queue
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

NAMESPACE = "chaos"
# After a server restart, the Beats reconnect (backing off) and work through
# what fell due meanwhile: firings due this long after it are not judged
# against the lease TTL.
OUTAGE_RECOVERY_MS = 15000
# Long enough for a cut-off Beat's /healthz to say so (its store timeout of
# 2 s, a pass, slack for a loaded machine): partitions last at least this.
HEALTH_NOTICE_S = 6.0
MASK = (1 << 64) - 1


# ---- firing identity, as beat/core/codec/envelope.cc and firing.cc define it



# The Beats' clock: the system's moved by STEM_CLOCK_OFFSET, which the
# caller gives here in whole seconds (chaos_test.sh asks test_clock). The
# servers chaos starts keep the real clock; their arrival times are moved
# by the same offset.
CLOCK_OFFSET_MS = int(os.environ.get("STEM_CLOCK_OFFSET_SECONDS", "0")) * 1000


def wall_ms():
    """The Beats' time now, in milliseconds since the epoch."""
    return int(time.time() * 1000) + CLOCK_OFFSET_MS

def iso_ms(ms):
    """RFC 3339 UTC with milliseconds, as FormatIsoTime writes it."""
    seconds, millis = divmod(ms, 1000)
    stamp = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % millis


def firing_id(namespace, entry_id, nominal_ms):
    name = b"\0".join([namespace.encode(), entry_id.encode(),
                       iso_ms(nominal_ms).encode()])
    digest = bytearray(hashlib.sha256(name).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x80  # version 8
    digest[8] = (digest[8] & 0x3F) | 0x80  # variant
    text = digest.hex()
    return "-".join([text[0:8], text[8:12], text[12:16], text[16:20],
                     text[20:32]])


def mix_hash(value, salt):
    z = (value + 0x9E3779B97F4A7C15 * (salt + 1)) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def stable_hash(text):
    value = 0xCBF29CE484222325
    for byte in text.encode():
        value ^= byte
        value = (value * 0x100000001B3) & MASK
    return mix_hash(value, 0)


def jitter_ms(entry, nominal_ms):
    if entry["jitter_ms"] <= 0:
        return 0
    return mix_hash(stable_hash(entry["id"]), nominal_ms & MASK) % entry["jitter_ms"]


def parse_iso_ms(text):
    """Milliseconds since the epoch from Stem's enqueuedAt."""
    text = text.rstrip("Z")
    if "." in text:
        whole, fraction = text.split(".", 1)
    else:
        whole, fraction = text, "0"
    stamp = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=timezone.utc)
    return int(stamp.timestamp()) * 1000 + int((fraction + "000")[:3])


# ---- the schedules


def make_entries(count, base_ms, rng):
    """A mix of second-granularity schedules whose fire times are known in
    closed form: cron `*/K` on the seconds field fires at every epoch second
    divisible by K; an interval of K s from startAt at base + k*K s."""
    policies = ["fire_once", "fire_all", "skip"]
    entries = []
    for i in range(count):
        period = [1, 2, 3, 5][i % 4]
        cron = (i // 4) % 2 == 0
        jitter = 0
        if i % 5 == 4 and period >= 2:
            jitter = rng.randrange(100, period * 1000 // 2)
        policy = policies[i % 3]
        # One in six keeps the default grace of 1 s: late firings are then
        # its policy's to drop (fire_all still sends every one).
        strict_grace = i % 6 != 5
        entries.append({
            "id": "chaos.%05d" % i,
            "cron": cron,
            "period_s": period,
            "jitter_ms": jitter,
            "policy": policy,
            "grace_s": 60 if strict_grace else None,
            "strict": strict_grace or policy == "fire_all",
            "start_ms": base_ms,
        })
    return entries


def schedule_file(entries):
    lines = ["schedules:"]
    for entry in entries:
        lines.append("  - id: %s" % entry["id"])
        lines.append("    task: chaos.tick")
        if entry["cron"]:
            lines.append('    spec: "*/%d * * * * *"' % entry["period_s"])
        else:
            lines.append("    spec: {kind: interval, everyMs: %d, startAt: %s}" %
                         (entry["period_s"] * 1000, iso_ms(entry["start_ms"])))
        if entry["jitter_ms"]:
            lines.append("    jitterMs: %d" % entry["jitter_ms"])
        lines.append("    misfirePolicy: %s" % entry["policy"])
        if entry["grace_s"]:
            lines.append("    misfireGrace: %ds" % entry["grace_s"])
    return "\n".join(lines) + "\n"


def nominals(entry, begin_ms, end_ms):
    """The entry's nominal times in [begin_ms, end_ms]."""
    step = entry["period_s"] * 1000
    anchor = 0 if entry["cron"] else entry["start_ms"]
    first = anchor + max(0, -(-(begin_ms - anchor) // step)) * step
    return range(first, end_ms + 1, step)


def parse_duration(text):
    """Seconds from `500ms`, `5s`, `2m` or a bare number of seconds."""
    for suffix, scale in (("ms", 0.001), ("s", 1), ("m", 60)):
        if text.endswith(suffix):
            try:
                return float(text[: -len(suffix)]) * scale
            except ValueError:
                break
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "%r: expected a duration such as 500ms, 5s or 2m" % text)


def die_with_parent():
    """In a child before exec: SIGKILL it when chaos.py dies, however."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# ---- backends


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class FileBackend:
    name = "file"
    can_restart = False
    namespace = "stem"  # the file store has no namespaces: Beat's default

    def __init__(self, work):
        self.work = work
        self.store_url = "file://%s/schedules.json" % work
        self.broker_url = "file://%s/tasks.jsonl" % work

    def start(self):
        pass

    def restart(self, pause):
        pass

    def stop(self):
        pass

    def upstreams(self):
        return []  # no server: no link to cut

    def envelopes(self):
        path = os.path.join(self.work, "tasks.jsonl")
        result = []
        if os.path.exists(path):
            with open(path) as lines:
                for line in lines:
                    if line.strip():
                        result.append(json.loads(line))
        return result


class Resp:
    """A minimal RESP2 client: enough to read streams back."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buffer = b""
        self.at = 0  # where the next reply starts in `buffer`

    def close(self):
        self.sock.close()

    def _fill(self):
        more = self.sock.recv(1 << 20)
        if not more:
            raise ConnectionError("redis closed the connection")
        self.buffer = self.buffer[self.at:] + more
        self.at = 0

    def _line(self):
        while True:
            end = self.buffer.find(b"\r\n", self.at)
            if end >= 0:
                line = self.buffer[self.at:end]
                self.at = end + 2
                return line
            self._fill()

    def _exactly(self, size):
        while len(self.buffer) - self.at < size + 2:
            self._fill()
        data = self.buffer[self.at:self.at + size]
        self.at += size + 2
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else self._exactly(size).decode()
        if kind == b"*":
            size = int(rest)
            return None if size < 0 else [self._reply() for _ in range(size)]
        raise RuntimeError("unexpected reply %r" % line)

    def call(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = str(arg).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(parts))
        return self._reply()


class RedisBackend:
    name = "redis"
    can_restart = True
    namespace = NAMESPACE

    def __init__(self, work):
        self.work = work
        self.port = free_port()
        self.process = None
        url = "redis://127.0.0.1:%d/0?namespace=%s" % (self.port, NAMESPACE)
        self.store_url = url
        self.broker_url = url

    def start(self):
        # Append-only, fsync'd every write: a restart keeps everything.
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "yes", "--appendfsync", "always",
             "--dir", self.work, "--logfile", os.path.join(self.work, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent)
        if not wait_for_port(self.port):
            raise RuntimeError("redis-server did not start")

    def upstreams(self):
        return [(self.port, False)]

    def restart(self, pause):
        # SHUTDOWN flushes the append-only file; then the port is dead.
        try:
            client = Resp(self.port)
            client.sock.sendall(b"*1\r\n$8\r\nSHUTDOWN\r\n")
            client.close()
        except OSError:
            pass
        self.process.wait(timeout=30)
        time.sleep(pause)
        self.start()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def envelopes(self):
        client = Resp(self.port)
        result = []
        cursor = "0"
        streams = []
        while True:
            cursor, keys = client.call("SCAN", cursor, "MATCH",
                                       NAMESPACE + ":stream:*", "COUNT", 1000)
            for key in keys:
                if client.call("TYPE", key) == "stream":
                    streams.append(key)
            if cursor == "0":
                break
        for stream in streams:
            start = "-"
            while True:
                batch = client.call("XRANGE", stream, start, "+", "COUNT", 5000)
                for stream_id, fields in batch:
                    record = dict(zip(fields[0::2], fields[1::2]))
                    result.append({
                        "id": record.get("id"),
                        "enqueuedAt": record.get("enqueuedAt"),
                        "headers": json.loads(record.get("headers") or "{}"),
                        # The server's clock when the XADD ran.
                        "arrived_ms": int(stream_id.split("-")[0]),
                    })
                if len(batch) < 5000:
                    break
                start = "(" + batch[-1][0]
        client.close()
        return result


def postgres_bin():
    """The newest PostgreSQL server installed (Debian's layout)."""
    versions = sorted(os.listdir("/usr/lib/postgresql"),
                      key=lambda v: [int(p) for p in v.split(".")])
    return "/usr/lib/postgresql/%s/bin" % versions[-1]


class PostgresBackend:
    fails_over = False  # its restart is the one server stopped and started
    name = "postgres"
    can_restart = True
    namespace = NAMESPACE

    def __init__(self, work):
        self.work = work
        self.port = free_port()
        self.bin = postgres_bin()
        url = ("postgres://beat:beat-secret@127.0.0.1:%d/beat?namespace=%s" %
               (self.port, NAMESPACE))
        self.store_url = url
        self.broker_url = url
        self.data = os.path.join(work, "data")

    def _as_db_user(self, args):
        # PostgreSQL refuses to run as root.
        if os.getuid() == 0:
            return ["/usr/sbin/runuser", "-u", "postgres", "--"] + args
        return args

    def _pg_ctl(self, *args):
        subprocess.run(self._as_db_user(
            [self.bin + "/pg_ctl", "-D", self.data, "-l",
             os.path.join(self.work, "server.log"), "-w"] + list(args)),
            check=True, stdout=subprocess.DEVNULL, cwd=self.work)

    def start(self, first=True):
        if first:
            if os.getuid() == 0:
                shutil.chown(self.work, "postgres")
            password_file = os.path.join(self.work, "pw")
            with open(password_file, "w") as out:
                out.write("beat-secret\n")
            if os.getuid() == 0:
                shutil.chown(password_file, "postgres")
            subprocess.run(self._as_db_user(
                [self.bin + "/initdb", "-D", self.data, "-U", "beat",
                 "--pwfile", password_file, "--auth-local=trust",
                 "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C",
                 "--no-sync"]), check=True, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, cwd=self.work)
        self._pg_ctl("-o", "-p %d -k %s -c listen_addresses=127.0.0.1" %
                     (self.port, self.work), "start")
        if first:
            self.sql("CREATE DATABASE beat", database="postgres")

    def upstreams(self):
        return [(self.port, False)]

    def restart(self, pause):
        self._pg_ctl("-m", "fast", "stop")
        time.sleep(pause)
        self.start(first=False)

    def stop(self):
        try:
            self._pg_ctl("-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass

    def sql(self, statement, database="beat"):
        environment = dict(os.environ, PGPASSWORD="beat-secret")
        return subprocess.run(
            [self.bin + "/psql", "-X", "-A", "-t", "-q", "-h", "127.0.0.1",
             "-p", str(self.port), "-U", "beat", "-d", database, "-c",
             statement], check=True, env=environment, capture_output=True,
            text=True).stdout

    def envelopes(self):
        # created_at: the server's clock when the inserting transaction
        # began (after the Beat decided to publish).
        rows = self.sql("SELECT floor(extract(epoch FROM created_at) * 1000)"
                        "::bigint || ' ' || envelope::text FROM "
                        "stem_queue_jobs WHERE namespace = '%s'" % NAMESPACE)
        result = []
        for line in rows.splitlines():
            if line.strip():
                arrived, envelope = line.split(" ", 1)
                result.append(dict(json.loads(envelope),
                                   arrived_ms=int(arrived)))
        return result


class PostgresStandbyBackend(PostgresBackend):
    """A PostgreSQL primary and a streaming standby (pg_basebackup), the
    Beats on libpq's multi-host URL with target_session_attrs=read-write,
    as Patroni and managed services hand it out. Its `restart` is a
    failover, done as a failover manager would: SIGKILL of the primary's
    every process (the host gone), `pg_ctl promote` of the standby, and the
    old primary back as a standby of the new one (a fresh base backup, as
    after a lost host; its own last commits, which replication had not
    shipped, are gone with it). Replication is asynchronous, as in most
    deployments, unless `synchronous` (synchronous_standby_names = '*': a
    commit waits for the standby; docs/RELIABILITY.md measures both)."""

    name = "postgres-standby"
    fails_over = True
    synchronous = False

    def __init__(self, work):  # pylint: disable=super-init-not-called
        self.work = work
        self.bin = postgres_bin()
        self.ports = [free_port(), free_port()]
        self.datas = [os.path.join(work, "data-%d" % i) for i in range(2)]
        self.primary_index = 0
        url = ("postgres://beat:beat-secret@127.0.0.1:%d,127.0.0.1:%d/beat?"
               "namespace=%s&target_session_attrs=read-write" % (
                   self.ports[0], self.ports[1], NAMESPACE))
        self.store_url = url
        self.broker_url = url

    @property
    def port(self):  # where sql() and envelopes() go: the current primary
        return self.ports[self.primary_index]

    def _server(self, index, *args):
        subprocess.run(self._as_db_user(
            [self.bin + "/pg_ctl", "-D", self.datas[index], "-l",
             os.path.join(self.work, "server-%d.log" % index), "-w"] +
            list(args)), check=True, stdout=subprocess.DEVNULL, cwd=self.work)

    def _start_server(self, index):
        self._server(index, "-o", "-p %d -k %s -c listen_addresses=127.0.0.1" %
                     (self.ports[index], self.work), "start")

    def _base_backup(self, index):
        """Data directory `index` made a standby of the current primary."""
        shutil.rmtree(self.datas[index], ignore_errors=True)
        environment = dict(os.environ, PGPASSWORD="beat-secret")
        subprocess.run(self._as_db_user(
            [self.bin + "/pg_basebackup", "-h", "127.0.0.1", "-p",
             str(self.port), "-U", "beat", "-D", self.datas[index], "-R",
             "-X", "stream", "-c", "fast", "--no-sync"]), check=True,
            env=environment, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, cwd=self.work)

    def start(self, first=True):
        if os.getuid() == 0:
            shutil.chown(self.work, "postgres")
        password_file = os.path.join(self.work, "pw")
        with open(password_file, "w") as out:
            out.write("beat-secret\n")
        if os.getuid() == 0:
            shutil.chown(password_file, "postgres")
        subprocess.run(self._as_db_user(
            [self.bin + "/initdb", "-D", self.datas[0], "-U", "beat",
             "--pwfile", password_file, "--auth-local=trust",
             "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C",
             "--no-sync"]), check=True, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, cwd=self.work)
        with open(os.path.join(self.datas[0], "postgresql.conf"), "a") as out:
            # initdb's pg_hba.conf already lets 127.0.0.1 replicate.
            out.write("wal_level = replica\nmax_wal_senders = 10\n"
                      "wal_keep_size = 256MB\n")
        self._start_server(0)
        self.sql("CREATE DATABASE beat", database="postgres")
        self._base_backup(1)
        self._start_server(1)
        if not self._wait_streaming(60):
            raise RuntimeError("the standby did not start streaming")
        self._set_synchronous(self.synchronous)

    def _set_synchronous(self, on):
        """The primary's commits wait for the standby (on), or not: set, as
        Patroni's synchronous_mode does, only while a standby streams."""
        self.sql("ALTER SYSTEM SET synchronous_standby_names = '%s'" % (
            "*" if on else ""), database="postgres")
        self.sql("SELECT pg_reload_conf()", database="postgres")
        deadline = time.time() + 30
        while on and "sync" not in self.sql(
                "SELECT sync_state FROM pg_stat_replication",
                database="postgres").split():
            if time.time() > deadline:
                raise RuntimeError("the standby did not become synchronous")
            time.sleep(0.05)

    def _wait_streaming(self, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.ready_for_fault():
                return True
            time.sleep(0.1)
        return False

    def ready_for_fault(self):
        """Whole again: the primary streams to its standby."""
        try:
            return "streaming" in self.sql(
                "SELECT state FROM pg_stat_replication", database="postgres")
        except subprocess.CalledProcessError:
            return False

    def upstreams(self):
        return [(port, False) for port in self.ports]

    def _kill_server(self, index):
        """SIGKILL of the postmaster and every process of it: the host
        gone, no shutdown checkpoint, no last WAL sent."""
        with open(os.path.join(self.datas[index], "postmaster.pid")) as pid:
            postmaster = int(pid.readline())
        doomed = [postmaster]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/stat" % entry) as stat:
                        fields = stat.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == postmaster:  # its parent
                    doomed.append(int(entry))
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.time() + 10
        while time.time() < deadline and any(
                os.path.exists("/proc/%d" % pid) for pid in doomed):
            time.sleep(0.02)

    def restart(self, pause):
        old = self.primary_index
        self._kill_server(old)
        self._server(1 - old, "promote")
        self.primary_index = 1 - old
        if self.synchronous:
            # Alone, it must not wait for a standby that is not there (its
            # copy of the setting came with its base backup).
            self._set_synchronous(False)
        time.sleep(pause)
        self._base_backup(old)
        self._start_server(old)
        if self.synchronous:
            if not self._wait_streaming(60):
                raise RuntimeError("the rebuilt standby did not stream")
            self._set_synchronous(True)

    def stop(self):
        for index in range(2):
            try:
                self._server(index, "-m", "immediate", "stop")
            except (subprocess.CalledProcessError, OSError):
                pass


class RedisSentinelBackend(RedisBackend):
    """A primary, one replica and three Sentinels (quorum 2, down after
    1 s), the Beats on a redis-sentinel:// URL. Its `restart` is a
    failover: SIGKILL of the primary, the replica promoted by the
    Sentinels, the old primary started again (it comes back believing it
    is primary, with its append-only file, until the Sentinels make it a
    replica of the new one). `freeze` SIGSTOPs the primary instead, for
    longer than the failover takes, so that it wakes as a stale primary.
    Each waits until the last one's resync is done (ready_for_fault)."""

    name = "redis-sentinel"
    can_restart = True
    fails_over = True
    namespace = NAMESPACE
    MASTER = "chaos"

    def __init__(self, work):
        self.work = work
        self.ports = [free_port(), free_port()]
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.processes = [None, None]
        self.sentinels = []
        url = "redis-sentinel://%s/0?namespace=%s#%s" % (
            ",".join("127.0.0.1:%d" % p for p in self.sentinel_ports),
            NAMESPACE, self.MASTER)
        self.store_url = url
        self.broker_url = url

    def _start_server(self, index, replica_of=None):
        directory = os.path.join(self.work, "redis-%d" % index)
        os.makedirs(directory, exist_ok=True)
        command = ["redis-server", "--port", str(self.ports[index]), "--bind",
                   "127.0.0.1", "--save", "", "--appendonly", "yes",
                   "--appendfsync", "always", "--dir", directory, "--logfile",
                   os.path.join(directory, "redis.log")]
        if replica_of is not None:
            command += ["--replicaof", "127.0.0.1", str(replica_of)]
        self.processes[index] = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent)
        if not wait_for_port(self.ports[index]):
            raise RuntimeError("redis-server %d did not start" % index)

    def _ask(self, port, *command):
        try:
            client = Resp(port)
            try:
                return client.call(*command)
            finally:
                client.close()
        except (OSError, RuntimeError, ConnectionError):
            return None

    def start(self):
        self._start_server(0)
        self._start_server(1, replica_of=self.ports[0])
        # In sync before anything is written: Beat's writes wait for it.
        deadline = time.time() + 60
        while "master_link_status:up" not in (
                self._ask(self.ports[1], "INFO", "replication") or ""):
            if time.time() > deadline:
                raise RuntimeError("the replica did not sync")
            time.sleep(0.05)
        for index, port in enumerate(self.sentinel_ports):
            directory = os.path.join(self.work, "sentinel-%d" % index)
            os.makedirs(directory, exist_ok=True)
            config = os.path.join(directory, "sentinel.conf")
            with open(config, "w") as out:
                out.write("sentinel monitor %s 127.0.0.1 %d 2\n"
                          "sentinel down-after-milliseconds %s 1000\n"
                          "sentinel failover-timeout %s 10000\n" % (
                              self.MASTER, self.ports[0], self.MASTER,
                              self.MASTER))
            self.sentinels.append(subprocess.Popen(
                ["redis-server", config, "--sentinel", "--port", str(port),
                 "--bind", "127.0.0.1", "--dir", directory, "--logfile",
                 os.path.join(directory, "sentinel.log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=die_with_parent))
        # Ready when every Sentinel knows the two others and the replica
        # (hello messages every 2 s): a failover needs both.
        deadline = time.time() + 60
        for port in self.sentinel_ports:
            while True:
                master = self._ask(port, "SENTINEL", "master", self.MASTER)
                if master:
                    info = dict(zip(master[0::2], master[1::2]))
                    if (info.get("num-other-sentinels") == "2" and
                            info.get("num-slaves") == "1"):
                        break
                if time.time() > deadline:
                    raise RuntimeError("the Sentinels did not find each other")
                time.sleep(0.1)

    def upstreams(self):
        return ([(port, False) for port in self.ports] +
                [(port, True) for port in self.sentinel_ports])

    def primary(self):
        """The index of the server the Sentinels name primary."""
        for port in self.sentinel_ports:
            answer = self._ask(port, "SENTINEL", "get-master-addr-by-name",
                               self.MASTER)
            if answer and int(answer[1]) in self.ports:
                return self.ports.index(int(answer[1]))
        return 0

    @property
    def port(self):  # where envelopes() reads: the current primary
        return self.ports[self.primary()]

    def _wait_for_new_primary(self, old, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.primary() != old:
                return True
            time.sleep(0.05)
        return False

    def restart(self, pause):
        old = self.primary()
        self.processes[old].send_signal(signal.SIGKILL)
        self.processes[old].wait()
        promoted = self._wait_for_new_primary(old)
        time.sleep(pause)
        # Back with its own data, primary in its own eyes; the Sentinels
        # turn it into a replica of the new primary.
        self._start_server(old)
        if not promoted:
            raise RuntimeError("the Sentinels promoted no replica in 30 s")

    def ready_for_fault(self):
        """Whole again: the Sentinels' primary has its replica back in
        sync. The next store fault waits for it: one in the middle of a
        resync is a double failure (the unsynced replica promoted loses
        what the primary took alone; docs/RELIABILITY.md)."""
        primary = self.primary()
        replica = 1 - primary
        info = self._ask(self.ports[replica], "INFO", "replication") or ""
        return ("master_link_status:up" in info and
                "master_port:%d" % self.ports[primary] in info and
                "master_sync_in_progress:0" in info)

    def freeze(self, seconds):
        old = self.primary()
        self.processes[old].send_signal(signal.SIGSTOP)
        time.sleep(seconds)
        self.processes[old].send_signal(signal.SIGCONT)

    def stop(self):
        for process in self.sentinels + self.processes:
            if process and process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    # "Writing initial AOF, can't exit": a replica mid-sync.
                    process.kill()
                    process.wait()


# ---- the network between a Beat and its servers
#
# Partitions and latency come from a TCP proxy of the tool's own, one per
# (Beat, server), not from network namespaces and `tc netem`: netem is a
# kernel module many machines (this project's CI among them) lack, and
# namespaces need root; the proxy runs anywhere, on loopback, and can do
# what a real link does to TCP that a dropped link cannot show: data held
# during a partition is delivered when it heals, even after the Beat gave
# up on it and closed the connection (a late write the fencing must
# refuse), and loss is what TCP makes of it, a stall of a retransmission
# timeout.


class Held(collections.deque):
    """What one direction of a proxied connection holds: (due ms, data)
    chunks, and their bytes in all."""

    size = 0


class FaultProxy:
    """Forwards 127.0.0.1:port to 127.0.0.1:upstream, faithfully until told
    to cut the link (nothing passes either way, new connections included,
    until it heals: what was held then goes on, in order) or to slow it (each
    chunk delivered `delay` later, with jitter, and with probability `loss`
    a further 200-600 ms, a retransmission). `rewrite` maps upstream ports
    to proxy ports in what a Sentinel answers, so that a Beat behind
    Sentinel reaches the primary through its own proxy too.

    Across a cut a new connection gets no answer, as across a real
    partition: the listener's accept queue is shrunk to one and filled by
    the proxy itself, so the kernel drops a client's SYN (its connect()
    hangs, retransmitting, until the heal or its timeout). Each direction
    holds at most WINDOW bytes; beyond that the proxy stops reading, and
    the sender's socket buffers fill, as a TCP window would."""

    WINDOW = 1 << 20
    BACKLOG = 64

    def __init__(self, upstream, rewrite=None):
        self.upstream = upstream
        self.rewrite = rewrite or {}
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(self.BACKLOG)
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.state = threading.Condition()
        self.cut = False
        self.accepting = True  # the accept loop runs (not parked by a cut)
        self.fillers = []  # the proxy's own connections filling the queue
        self.delay_ms = 0
        self.loss = 0.0
        self.closed = False
        self.sockets = set()
        self.random = random.Random(upstream)
        threading.Thread(target=self._accept, daemon=True).start()

    def set_link(self, cut=False, delay_ms=0, loss=0.0):
        with self.state:
            was_cut = self.cut
            self.cut, self.delay_ms, self.loss = cut, delay_ms, loss
            self.state.notify_all()
            if cut and not was_cut:
                # The accept loop parks; then the queue is made full.
                self.state.wait_for(lambda: not self.accepting or self.closed,
                                    timeout=5)
                self.listener.listen(0)
                filler = socket.socket()
                filler.setblocking(False)
                try:
                    filler.connect(("127.0.0.1", self.port))
                except BlockingIOError:
                    pass
                self.fillers.append(filler)
            elif was_cut and not cut:
                self.listener.listen(self.BACKLOG)

    def close(self):
        with self.state:
            self.closed = True
            self.cut = False
            self.state.notify_all()
            sockets = list(self.sockets) + self.fillers
        for sock in sockets + [self.listener]:
            try:
                sock.close()
            except OSError:
                pass

    def _accept(self):
        while True:
            with self.state:
                if self.cut:
                    self.accepting = False
                    self.state.notify_all()
                    self.state.wait_for(lambda: not self.cut or self.closed)
                    self.accepting = True
                if self.closed:
                    return
                fillers = {f.getsockname() for f in self.fillers}
            try:
                client, peer = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            if peer in fillers:  # the proxy's own, from a healed cut
                client.close()
                with self.state:
                    for filler in [f for f in self.fillers
                                   if f.getsockname() == peer]:
                        self.fillers.remove(filler)
                        filler.close()
                continue
            client.settimeout(None)
            threading.Thread(target=self._connect, args=(client,),
                             daemon=True).start()

    def _connect(self, client):
        # One accepted just before a cut gets nowhere until the heal.
        with self.state:
            self.state.wait_for(lambda: not self.cut or self.closed)
        try:
            server = socket.create_connection(("127.0.0.1", self.upstream),
                                              timeout=5)
            server.settimeout(None)
        except OSError:
            client.close()  # the server is down: as a refused connection
            return
        with self.state:
            self.sockets.update((client, server))
        ends = {"open": 2}
        for source, sink, rewrite in ((client, server, False),
                                      (server, client, bool(self.rewrite))):
            held = Held()
            threading.Thread(target=self._read, args=(source, held, rewrite),
                             daemon=True).start()
            threading.Thread(target=self._write,
                             args=(sink, held, (client, server), ends),
                             daemon=True).start()

    def _due_ms(self, last_due):
        with self.state:
            delay, loss = self.delay_ms, self.loss
        due = time.time() * 1000
        if delay:
            due += delay * self.random.uniform(0.8, 1.2)
            if self.random.random() < loss:
                due += self.random.uniform(200, 600)
        return max(due, last_due)  # TCP keeps the order

    def _read(self, source, held, rewrite):
        last_due = 0
        carry = b""
        while True:
            with self.state:  # a full window: the sender waits
                self.state.wait_for(
                    lambda: held.size < self.WINDOW or self.closed)
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if data and rewrite:
                data, carry = self._rewritten(carry + data)
                if not data:
                    continue  # all of it the start of a port: wait for more
            elif not data and carry:
                data, carry = carry, b""
            last_due = self._due_ms(last_due)
            with self.state:
                held.append((last_due, data))
                held.size += len(data)
                self.state.notify_all()
            if not data:
                return

    def _rewritten(self, data):
        def bulk(port):
            return b"$%d\r\n%d\r\n" % (len(str(port)), port)

        for real, proxied in self.rewrite.items():
            data = data.replace(bulk(real), bulk(proxied))
        # A port split across two reads is kept for the next: a reply whose
        # end this is cannot end in the start of a bulk string.
        patterns = [bulk(real) for real in self.rewrite]
        for keep in range(min(len(data), max(map(len, patterns))), 0, -1):
            tail = data[-keep:]
            if any(pattern.startswith(tail) for pattern in patterns):
                return data[:-keep], tail
        return data, b""

    def _write(self, sink, held, pair, ends):
        while True:
            with self.state:
                self.state.wait_for(lambda: self.closed or (
                    held and not self.cut))
                if self.closed:
                    return
                due, data = held[0]
            wait = due / 1000.0 - time.time()
            if wait > 0:
                time.sleep(wait)
                continue  # a cut may have come meanwhile
            with self.state:
                if self.cut:
                    continue
                held.popleft()
                held.size -= len(data)
                self.state.notify_all()
            try:
                if data:
                    sink.sendall(data)
                else:
                    sink.shutdown(socket.SHUT_WR)
            except OSError:
                # That end is gone: this direction ends, while the other
                # still delivers what it holds (and its FIN), as TCP would.
                data = b""
            if not data:
                with self.state:
                    ends["open"] -= 1
                    done = ends["open"] <= 0
                if done:
                    for sock in pair:
                        with self.state:
                            self.sockets.discard(sock)
                        try:
                            sock.close()
                        except OSError:
                            pass
                return


class Links:
    """Each Beat's own proxies to every server it talks to, and its URLs
    through them."""

    def __init__(self, backend, count):
        upstreams = backend.upstreams()  # [(port, is_sentinel)]
        self.proxies = []
        self.urls = []
        for _ in range(count):
            data = {port: FaultProxy(port) for port, sentinel in upstreams
                    if not sentinel}
            rewrite = {port: proxy.port for port, proxy in data.items()}
            sentinels = {port: FaultProxy(port, rewrite)
                         for port, sentinel in upstreams if sentinel}
            ports = {**data, **sentinels}
            for real, proxy in ports.items():
                if len(str(real)) != len(str(proxy.port)):
                    raise RuntimeError("proxy port %d for %d: not the same "
                                       "length" % (proxy.port, real))
            url = backend.store_url
            for real, proxy in ports.items():
                url = url.replace("127.0.0.1:%d" % real,
                                  "127.0.0.1:%d" % proxy.port)
            self.proxies.append(list(ports.values()))
            self.urls.append(url)

    def set_link(self, index, **link):
        for proxy in self.proxies[index]:
            proxy.set_link(**link)

    def close(self):
        for proxies in self.proxies:
            for proxy in proxies:
                proxy.close()


BACKENDS = {"file": FileBackend, "redis": RedisBackend,
            "postgres": PostgresBackend,
            "postgres-standby": PostgresStandbyBackend,
            "redis-sentinel": RedisSentinelBackend}


# ---- the Beats


class Beats:
    def __init__(self, stem, backend, count, lease_ttl, work, skew=None,
                 links=None):
        self.stem = stem
        self.backend = backend
        self.links = links  # each Beat's own proxies, for partitions
        # Each Beat serves /healthz on its own port (the same in each life).
        self.http_ports = [free_port() for _ in range(count)]
        self.lease_ttl = lease_ttl
        self.skew = skew  # Beat 0's clock offset, e.g. "3s"
        self.work = work
        self.processes = [None] * count
        self.started = [0] * count
        self.stopped = set()

    def start(self, index):
        self.started[index] += 1
        log = open(os.path.join(self.work, "beat-%d.log" % index), "a")
        store_url, broker_url = self.backend.store_url, self.backend.broker_url
        if self.links:
            store_url = broker_url = self.links.urls[index]
        command = [self.stem, "--store", store_url, "beat",
                   "--broker", broker_url, "--lease-ttl",
                   self.lease_ttl, "--stats-every", "1s", "--http",
                   "127.0.0.1:%d" % self.http_ports[index]]
        if self.skew and index == 0:
            command += ["--clock-offset", self.skew]
        self.processes[index] = subprocess.Popen(
            command, stdout=log, stderr=log, preexec_fn=die_with_parent)
        log.close()

    def kill(self, index):
        process = self.processes[index]
        if process and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
        self.stopped.discard(index)

    def pause(self, index):
        self.processes[index].send_signal(signal.SIGSTOP)
        self.stopped.add(index)

    def resume(self, index):
        self.processes[index].send_signal(signal.SIGCONT)
        self.stopped.discard(index)

    def dispatched(self):
        """Firings each Beat published, from the totals each life of it
        logged last (a killed life loses at most its last second)."""
        result = []
        for index in range(len(self.processes)):
            total = life = 0
            with open(os.path.join(self.work, "beat-%d.log" % index)) as log:
                for line in log:
                    if "stem beat: running as" in line:
                        total += life
                        life = 0
                    elif "totals: " in line:
                        life = int(line.split("totals: ")[1].split()[0])
            result.append(total + life)
        return result

    def healthy(self, index):
        """True on 200 from the Beat's /healthz, False on 503, None when it
        does not answer (starting, stopped)."""
        url = "http://127.0.0.1:%d/healthz" % self.http_ports[index]
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return response.status == 200
        except urllib.error.HTTPError as error:
            return False if error.code == 503 else None
        except (OSError, ValueError):
            return None

    def running(self, index):
        process = self.processes[index]
        return process is not None and process.poll() is None

    def stop_all(self):
        for index in list(self.stopped):
            self.resume(index)
        for process in self.processes:
            if process and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            if process:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


class StoreFault:
    """`action(argument)` (a restart or failover of the store's servers),
    begun at `began`, run beside the fault loop; `ended` and any error once
    `done` is set. All run on one thread that lives as long as the tool:
    the servers a fault starts are set to die with the thread that started
    them (PR_SET_PDEATHSIG acts on the thread, not the process), so that
    thread must not end before the tool does."""

    _requests = None

    def __init__(self, began, action, argument):
        self.began = began
        self.ended = None
        self.error = None
        self.done = threading.Event()
        if StoreFault._requests is None:
            StoreFault._requests = queue.Queue()
            threading.Thread(target=StoreFault._serve, daemon=True).start()
        StoreFault._requests.put((self, action, argument))

    @staticmethod
    def _serve():
        while True:
            fault, action, argument = StoreFault._requests.get()
            try:
                action(argument)
            except Exception as error:  # pylint: disable=broad-except
                fault.error = error
            fault.ended = time.time()
            fault.done.set()


def run_faults(beats, backend, faults, duration, lease_ttl_s, rng, log):
    """Injects faults until `duration` seconds have passed."""
    counts = {"kills": 0, "stops": 0, "restarts": 0, "partitions": 0,
              "latencies": 0, "exits": 0, "events": [],
              # /healthz across partitions: ms from the cut to the first
              # 503, from the heal to the first 200; what went wrong.
              "unhealthy_after": [], "healthy_after": [], "health_wrong": []}
    links = beats.links
    cuts = {}  # Beat index: [cut at, seen unhealthy at or None]
    heals = {}  # Beat index: healed at, until /healthz says 200 again
    last_health_poll = 0
    end = time.time() + duration
    pending = []  # (when, action, index)
    next_kill = time.time() + rng.uniform(2, 5)
    next_stop = time.time() + rng.uniform(3, 8)
    next_restart = time.time() + rng.uniform(5, 12)
    next_partition = time.time() + rng.uniform(4, 9)
    next_latency = time.time() + rng.uniform(3, 6)

    def heal(index, now, judge=True):
        if index in cuts and cuts[index][1] is None and beats.healthy(
                index) is False:  # still cut off: the loop may have been busy
            cuts[index][1] = now
            counts["unhealthy_after"].append((now - cuts[index][0]) * 1000)
        links.set_link(index)
        if index in cuts:
            cut_at, unhealthy_at = cuts.pop(index)
            # A Beat notices within its store timeout (2 s) and a pass (1 s)
            # or so; a cut shorter than HEALTH_NOTICE_S is not judged.
            if (unhealthy_at is None and judge and
                    now - cut_at >= HEALTH_NOTICE_S):
                counts["health_wrong"].append(
                    "beat %d: /healthz never said unhealthy in %.1f s cut off "
                    "from its store" % (index, now - cut_at))
            heals[index] = now

    # A server restart or failover runs beside the loop, which meanwhile
    # restarts the Beats it killed and heals links on time, as the world
    # goes on during a failover.
    store_fault = None

    def store_fault_done(fault):
        fault.done.wait()
        if fault.error:
            raise fault.error
        counts["events"].append(("restart", fault.began * 1000,
                                 fault.ended * 1000))
        return fault.ended + rng.uniform(10, 20)

    while time.time() < end:
        now = time.time()
        if store_fault is not None and store_fault.done.is_set():
            next_restart = store_fault_done(store_fault)
            store_fault = None
        for item in [p for p in pending if p[0] <= now]:
            pending.remove(item)
            _, action, index = item
            if action == "start" and not beats.running(index):
                beats.start(index)
                log("restarted beat %d" % index)
            elif action == "resume" and index in beats.stopped:
                beats.resume(index)
                log("SIGCONT beat %d" % index)
            elif action == "heal":
                heal(index, now)
                log("beat %d's link healed" % index)
        if (cuts or heals) and now - last_health_poll >= 0.25:
            last_health_poll = now
            for index, cut in cuts.items():
                if cut[1] is None and beats.healthy(index) is False:
                    cut[1] = now
                    counts["unhealthy_after"].append((now - cut[0]) * 1000)
            for index, healed_at in list(heals.items()):
                if beats.healthy(index):
                    counts["healthy_after"].append((now - healed_at) * 1000)
                    del heals[index]
                elif (now - healed_at > OUTAGE_RECOVERY_MS / 1000.0 and
                      store_fault is None and not any(
                          event[0] == "restart" and
                          event[2] / 1000.0 > healed_at - 5
                          for event in counts["events"])):
                    counts["health_wrong"].append(
                        "beat %d: /healthz not healthy again %.0f s after its "
                        "link healed" % (index, now - healed_at))
                    del heals[index]
        busy = {p[2] for p in pending}
        # A Beat that ended on its own (it should not: it rides out every
        # fault here) is counted, and started again as a supervisor would.
        for index in range(len(beats.processes)):
            if index not in busy and not beats.running(index):
                code = beats.processes[index].poll()
                counts["exits"] += 1
                log("beat %d exited on its own (status %s); started again" %
                    (index, code))
                beats.start(index)
        idle = [i for i in range(len(beats.processes))
                if beats.running(i) and i not in beats.stopped and i not in busy]
        if "kill" in faults and now >= next_kill and idle:
            index = rng.choice(idle)
            beats.kill(index)
            counts["kills"] += 1
            counts["events"].append(("kill", now * 1000))
            pause = rng.uniform(0.2, 3)
            pending.append((now + pause, "start", index))
            log("SIGKILL beat %d (back in %.1f s)" % (index, pause))
            next_kill = now + rng.uniform(2, 5)
        elif "stop" in faults and now >= next_stop and len(idle) > 1:
            index = rng.choice(idle)
            beats.pause(index)
            counts["stops"] += 1
            counts["events"].append(("stop", now * 1000))
            held = lease_ttl_s + rng.uniform(0.5, 2)
            pending.append((now + held, "resume", index))
            log("SIGSTOP beat %d for %.1f s" % (index, held))
            next_stop = now + rng.uniform(8, 15)
        elif ("partition" in faults and now >= next_partition and
              len(idle) > 1):
            # Longer than the lease: the others take over what it held,
            # and what it wrote meanwhile lands when the link heals.
            index = rng.choice(idle)
            held = max(lease_ttl_s, HEALTH_NOTICE_S) + rng.uniform(1, 4)
            links.set_link(index, cut=True)
            cuts[index] = [now, None]
            heals.pop(index, None)
            counts["partitions"] += 1
            counts["events"].append(("partition", now * 1000))
            pending.append((now + held, "heal", index))
            log("beat %d cut off from its servers for %.1f s" % (index, held))
            next_partition = now + rng.uniform(10, 18)
        elif "latency" in faults and now >= next_latency and idle:
            index = rng.choice(idle)
            delay = rng.uniform(100, 500)
            held = rng.uniform(4, 10)
            links.set_link(index, delay_ms=delay, loss=0.02)
            counts["latencies"] += 1
            counts["events"].append(("latency", now * 1000))
            pending.append((now + held, "heal", index))
            log("beat %d's link slowed by %.0f ms, 2%% loss, for %.1f s" % (
                index, delay, held))
            next_latency = now + rng.uniform(6, 12)
        elif (faults & {"restart", "failover", "freeze"} and
              backend.can_restart and now >= next_restart and
              store_fault is None and
              getattr(backend, "ready_for_fault", lambda: True)()):
            pause = rng.uniform(1, 3)
            freeze = "freeze" in faults and hasattr(backend, "freeze") and (
                not faults & {"restart", "failover"} or rng.random() < 0.5)
            if freeze:
                log("SIGSTOP of the %s primary for 8 s" % backend.name)
                action = (backend.freeze, 8)
            else:
                log("%s the %s server (down %.1f s)" % (
                    "failing over" if getattr(backend, "fails_over", False)
                    else "restarting", backend.name, pause))
                action = (backend.restart, pause)
            store_fault = StoreFault(now, *action)
            counts["restarts"] += 1
        time.sleep(0.05)
    if store_fault is not None:
        store_fault_done(store_fault)
    for when, action, index in pending:
        if action == "start" and not beats.running(index):
            beats.start(index)
        elif action == "resume" and index in beats.stopped:
            beats.resume(index)
        elif action == "heal":
            heal(index, time.time(), judge=False)  # cut short by the end
    # A Beat healed at the end has the settle time to be healthy again.
    deadline = time.time() + OUTAGE_RECOVERY_MS / 1000.0
    while heals and time.time() < deadline:
        for index, healed_at in list(heals.items()):
            if beats.healthy(index):
                counts["healthy_after"].append(
                    (time.time() - healed_at) * 1000)
                del heals[index]
        time.sleep(0.25)
    for index in heals:
        counts["health_wrong"].append(
            "beat %d: /healthz not healthy again %.0f s after its link healed"
            % (index, time.time() - heals[index]))
    return counts


def percentile(values, fraction):
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def arrival_ms(envelope):
    """When the broker took the envelope: the server's clock where it keeps
    one (Redis, PostgreSQL); else (the file broker) the enqueuedAt the Beat
    wrote, on its own clock."""
    if envelope.get("arrived_ms") is not None:
        # The server's clock is the real one; the Beats' is moved.
        return envelope["arrived_ms"] + CLOCK_OFFSET_MS
    return parse_iso_ms(envelope["enqueuedAt"])


def check(namespace, entries, envelopes, window, known_range, run_counts=None,
          skew_ms=0, late_after_ms=None, outages=(), beat_faults=()):
    """Every firing due in `window` against what the broker holds; and,
    given the store's run counts, each entry's count against its envelopes
    (all of them, in the window or not). A Beat whose clock runs `skew_ms`
    ahead may fire that early, no earlier. Firings later than
    `late_after_ms` past their due time — or past the latest SIGKILL or
    SIGSTOP of a Beat since (`beat_faults`, sorted ms) — are counted late,
    unless due within an outage (start_ms, end_ms) or in the recovery that
    follows it."""
    by_id = {}
    for envelope in envelopes:
        by_id.setdefault(envelope.get("id"), []).append(envelope)
    known = {}
    for entry in entries:
        for nominal in nominals(entry, *known_range):
            known[firing_id(namespace, entry["id"], nominal)] = (entry, nominal)
    report = {"expected": 0, "delivered": 0, "duplicates": 0, "missing": 0,
              "dropped_by_policy": 0, "early": 0, "early_within_skew": 0,
              "late": 0, "unknown": 0, "count_mismatches": 0, "delays": [],
              "firings": [], "examples": []}
    if run_counts is not None:
        published = {}
        for envelope in envelopes:
            schedule = (envelope.get("headers") or {}).get("schedule-id")
            published[schedule] = published.get(schedule, 0) + 1
        # Strict entries only: under `skip`, a firing whose Beat died
        # between publish and commit is left uncounted by a late successor
        # when the broker cannot say it holds it (docs/semantics.md).
        for entry in (e for e in entries if e["grace_s"]):
            counted = run_counts.get(entry["id"], 0)
            if counted != published.get(entry["id"], 0):
                report["count_mismatches"] += 1
                report["examples"].append(
                    "%s: totalRunCount %d, %d envelopes in the broker" % (
                        entry["id"], counted, published.get(entry["id"], 0)))
    for envelope_id, copies in by_id.items():
        if len(copies) > 1:
            report["duplicates"] += len(copies) - 1
            report["examples"].append("duplicate %s x%d" % (envelope_id, len(copies)))
        if envelope_id not in known:
            report["unknown"] += 1
            report["examples"].append("unknown envelope id %s" % envelope_id)
            continue
        entry, nominal = known[envelope_id]
        due = nominal + jitter_ms(entry, nominal)
        arrived = min(arrival_ms(copy) for copy in copies)
        if arrived < due - skew_ms:
            report["early"] += 1
            report["examples"].append("early: %s at %s, due %s" % (
                entry["id"], iso_ms(arrived), iso_ms(due)))
        elif arrived < due:
            report["early_within_skew"] += 1
    for entry in entries:
        for nominal in nominals(entry, window[0] - entry["jitter_ms"], window[1]):
            due = nominal + jitter_ms(entry, nominal)
            if not window[0] <= due <= window[1]:
                continue
            report["expected"] += 1
            copies = by_id.get(firing_id(namespace, entry["id"], nominal))
            if copies:
                report["delivered"] += 1
                arrived = min(arrival_ms(copy) for copy in copies)
                report["delays"].append(arrived - due)
                report["firings"].append((due, arrived))
                # Measured from the due time, or from the latest SIGKILL or
                # SIGSTOP since (any Beat may have been holding it: a
                # firing whose holders die one after another is picked up
                # within the TTL after each).
                since = bisect.bisect_right(beat_faults, arrived)
                start_ms = due
                if (late_after_ms is not None and since and
                        beat_faults[since - 1] >= due - late_after_ms):
                    start_ms = max(due, beat_faults[since - 1])
                if (late_after_ms is not None and
                        arrived - start_ms > late_after_ms and
                        not any(start - late_after_ms <= due <=
                                end + OUTAGE_RECOVERY_MS
                                for start, end in outages)):
                    report["late"] += 1
                    if report["late"] <= 5:
                        report["examples"].append("late: %s at %s, due %s" % (
                            entry["id"], iso_ms(arrived), iso_ms(due)))
            elif entry["strict"]:
                report["missing"] += 1
                if report["missing"] <= 5:
                    report["examples"].append("missing: %s at %s" % (
                        entry["id"], iso_ms(nominal)))
            else:
                report["dropped_by_policy"] += 1
    return report


def failover_gaps(events, firings, lease_ms, outages):
    """For each SIGKILL or SIGSTOP (away from server restarts): how long
    after it the slowest firing due around it went out — the time for the
    other Beats to take over what the lost Beat held."""
    gaps = []
    for event in events:
        if event[0] not in ("kill", "stop", "partition"):
            continue
        at = event[1]
        if any(start - lease_ms <= at <= end + OUTAGE_RECOVERY_MS
               for start, end in outages):
            continue
        around = [arrived - max(due, at) for due, arrived in firings
                  if at - lease_ms <= due <= at + lease_ms and arrived > at]
        if around:
            gaps.append(max(around))
    return gaps


def outage_gaps(outages, envelopes):
    """For each server restart or store failover: how long after its start
    the broker (the new primary, after a failover) took its first
    envelope."""
    arrivals = sorted(arrival_ms(envelope) - CLOCK_OFFSET_MS
                      for envelope in envelopes
                      if envelope.get("arrived_ms") is not None)
    gaps = []
    for start, _ in outages:
        after = bisect.bisect_right(arrivals, start)
        if after < len(arrivals):
            gaps.append(arrivals[after] - start)
    return gaps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stem", required=True, help="the stem binary")
    parser.add_argument("--backend", choices=sorted(BACKENDS), default=None,
                        help="default: file (redis with --topology sentinel, "
                        "postgres with --topology standby)")
    parser.add_argument("--topology", choices=["single", "sentinel",
                                               "standby"],
                        default="single",
                        help="sentinel: with --backend redis, a primary, a "
                        "replica and three Sentinels (--backend "
                        "redis-sentinel); standby: with --backend postgres, "
                        "a primary and a streaming standby on a multi-host "
                        "URL (--backend postgres-standby)")
    parser.add_argument("--synchronous", action="store_true",
                        help="--topology standby: synchronous replication "
                        "(synchronous_standby_names = '*')")
    parser.add_argument("--duration", type=parse_duration, default=30,
                        help="time of faults: 30 (seconds), 90s, 10m; at "
                        "least 5 s (default 30)")
    parser.add_argument("--beats", type=int, default=3)
    parser.add_argument("--faults", default="kill,stop,restart",
                        help="comma-separated: kill, stop, restart, failover, "
                        "freeze (sentinel), partition, latency (or none)")
    parser.add_argument("--entries", type=int, default=0,
                        help="default: 2000 (redis, postgres), 120 (file)")
    parser.add_argument("--lease-ttl", default="5s",
                        help="passed to each stem beat (default 5s)")
    parser.add_argument("--settle", type=float, default=90,
                        help="most seconds to wait after the faults for the "
                        "window's firings (default 90)")
    parser.add_argument("--skew", default=None,
                        help="run Beat 0 with its clock this far ahead "
                        "(stem beat --clock-offset), e.g. 3s; it may fire "
                        "that early, no earlier, and nothing twice")
    parser.add_argument("--fail-late", action="store_true",
                        help="fail on a firing later than the lease TTL + 2 s "
                        "(outside server restarts); counted either way")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (logs, data)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    if args.backend is None:
        args.backend = {"sentinel": "redis", "standby": "postgres"}.get(
            args.topology, "file")

    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    faults = set() if args.faults == "none" else set(args.faults.split(","))
    unknown_faults = faults - {"kill", "stop", "restart", "failover", "freeze",
                               "partition", "latency"}
    if unknown_faults:
        parser.error("unknown fault(s): %s" % ", ".join(sorted(unknown_faults)))
    if args.duration < 5:
        parser.error("--duration: at least 5 s, for firings to fall due")
    if args.beats < 1:
        parser.error("--beats: at least 1")
    lease_ttl_s = parse_duration(args.lease_ttl)
    skew_ms = int(parse_duration(args.skew) * 1000) if args.skew else 0
    # A firing is late when it went out later than the lease TTL (a Beat
    # died holding it) plus one look-ahead (the Beats' 1 s idle poll) plus
    # a second of slack for a loaded machine; plus the skew: the claims of a
    # Beat whose clock runs ahead last that much longer on the others'.
    late_after_ms = int(lease_ttl_s * 1000) + 2000 + skew_ms
    count = args.entries or (120 if args.backend == "file" else 2000)
    stem = os.path.abspath(args.stem)
    work = tempfile.mkdtemp(prefix="stem-chaos-")
    os.chmod(work, 0o755)
    began = time.time()

    def log(message):
        if not args.quiet:
            print("chaos %6.1fs: %s" % (time.time() - began, message), flush=True)

    # SIGTERM (and SIGINT, even where a shell left it ignored) ends the run
    # through the clean-up below.
    def interrupted(signum, frame):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    if "stop" in faults and args.beats < 2:
        log("note: SIGSTOP needs two Beats (one stays running): no stops")
    if args.skew and args.backend == "file":
        log("note: the file broker keeps no clock of its own: a firing "
            "early within the skew is not seen")
    if "restart" in faults and args.backend == "file":
        log("note: the file store has no server to restart: no restarts")

    if args.topology == "sentinel":
        if args.backend not in ("redis", "redis-sentinel"):
            parser.error("--topology sentinel is for --backend redis")
        args.backend = "redis-sentinel"
    if args.topology == "standby":
        if args.backend not in ("postgres", "postgres-standby"):
            parser.error("--topology standby is for --backend postgres")
        args.backend = "postgres-standby"
    backend = BACKENDS[args.backend](work)
    if args.synchronous:
        if not hasattr(backend, "synchronous"):
            parser.error("--synchronous is for --topology standby")
        backend.synchronous = True
    if faults & {"failover", "freeze"} and not getattr(backend, "fails_over",
                                                       False):
        parser.error("failover and freeze need a replica to promote: "
                     "--topology sentinel or standby")
    if "freeze" in faults and not hasattr(backend, "freeze"):
        log("NOTE: no freeze on %s: PostgreSQL has no election of its own, "
            "fencing a stalled primary is the failover manager's; failovers "
            "only" % backend.name)
        faults = (faults - {"freeze"}) | {"failover"}
    beats = None
    links = None
    if faults & {"partition", "latency"} and not backend.upstreams():
        log("NOTE: the %s backend has no network link to cut or slow: no "
            "partition, no latency faults" % backend.name)
        faults -= {"partition", "latency"}
    if "partition" in faults and args.beats < 2:
        log("NOTE: a partition needs two Beats (one keeps firing): none")
        faults.discard("partition")
    try:
        try:
            backend.start()
        except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
            print("chaos: the %s server did not start: %s (logs in %s)" % (
                backend.name, error, work), file=sys.stderr)
            return 2
        base_ms = (int(time.time()) - 60) * 1000 + CLOCK_OFFSET_MS  # a whole second
        entries = make_entries(count, base_ms, rng)
        schedules = os.path.join(work, "schedules.yaml")
        with open(schedules, "w") as out:
            out.write(schedule_file(entries))
        applied = subprocess.run(
            [stem, "--store", backend.store_url, "schedule", "apply", "-f",
             schedules, "--yes"], capture_output=True, text=True)
        if applied.returncode != 0:
            print("chaos: apply failed: %s" % applied.stderr, file=sys.stderr)
            return 2
        log("seed %d: %d entries applied to %s; %d Beats, lease TTL %s" % (
            seed, count, backend.name, args.beats, args.lease_ttl))
        if faults & {"partition", "latency"}:
            # Every Beat through its own proxies, faulted or not: the same
            # path for all.
            links = Links(backend, args.beats)
        beats = Beats(stem, backend, args.beats, args.lease_ttl, work,
                      args.skew, links)
        for index in range(args.beats):
            beats.start(index)
        time.sleep(3)  # the Beats catch up with what fell due since apply
        window_start = wall_ms()
        counts = run_faults(beats, backend, faults, args.duration, lease_ttl_s,
                            rng, log)
        window_end = wall_ms()
        # Fault-free time to finish (a lease that ran out, a backoff): at
        # least two lease TTLs, then until no strict firing of the window is
        # missing (a loaded machine may take longer), at most --settle s.
        settle_end = time.time() + args.settle
        time.sleep(2 * lease_ttl_s)
        while True:
            report = check(backend.namespace, entries, backend.envelopes(),
                           (window_start, window_end),
                           (base_ms, wall_ms() + 60000))
            if report["missing"] == 0 or time.time() >= settle_end:
                break
            log("%d firings of the window still missing" % report["missing"])
            time.sleep(2)
        log("settled %.1f s after the faults" %
            ((wall_ms() - window_end) / 1000.0))
        beats.stop_all()
        split = beats.dispatched()
        listed = subprocess.run(
            [stem, "--store", backend.store_url, "--output", "json",
             "schedule", "list"], capture_output=True, text=True)
        if listed.returncode != 0:
            print("chaos: schedule list failed: %s" % listed.stderr,
                  file=sys.stderr)
            return 2
        run_counts = {entry["id"]: int(entry.get("totalRunCount") or 0)
                      for entry in json.loads(listed.stdout)}
        outages = [(event[1], event[2]) for event in counts["events"]
                   if event[0] == "restart"]
        report = check(backend.namespace, entries, backend.envelopes(),
                       (window_start, window_end),
                       (base_ms, wall_ms() + 60000), run_counts,
                       skew_ms, late_after_ms, outages,
                       sorted(event[1] for event in counts["events"]
                              if event[0] in ("kill", "stop", "partition",
                                              "latency")))
        gaps = failover_gaps(counts["events"], report["firings"],
                             int(lease_ttl_s * 1000), outages)
        store_gaps = outage_gaps(outages, backend.envelopes())
    except KeyboardInterrupt:
        print("chaos: interrupted; the Beats and the server are stopped "
              "(data in %s)" % work, file=sys.stderr)
        return 130
    finally:
        # Signals again would cut the clean-up short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if beats:
            beats.stop_all()
        if links:
            links.close()
        backend.stop()
    delays = report["delays"]
    shares = "/".join("%.0f%%" % (100.0 * n / max(1, sum(split)))
                      for n in split)
    print("chaos: backend=%s beats=%d duration=%ds seed=%d%s kills=%d stops=%d "
          "restarts=%d partitions=%d latencies=%d exits=%d | expected=%d delivered=%d duplicates=%d missing=%d "
          "dropped_by_policy=%d early=%d%s late=%d unknown=%d "
          "count_mismatches=%d | delay p50=%dms p99=%dms max=%dms | "
          "failover gap p50=%dms max=%dms (%d faults) | "
          "store gap p50=%dms max=%dms (%d outages) | split %s" % (
              backend.name, args.beats, args.duration, seed,
              " skew=%dms" % skew_ms if skew_ms else "", counts["kills"],
              counts["stops"], counts["restarts"], counts["partitions"],
              counts["latencies"], counts["exits"],
              report["expected"],
              report["delivered"], report["duplicates"], report["missing"],
              report["dropped_by_policy"], report["early"],
              " (within skew %d)" % report["early_within_skew"]
              if skew_ms else "", report["late"], report["unknown"],
              report["count_mismatches"], percentile(delays, 0.5),
              percentile(delays, 0.99), max(delays) if delays else 0,
              percentile(gaps, 0.5), max(gaps) if gaps else 0, len(gaps),
              percentile(store_gaps, 0.5),
              max(store_gaps) if store_gaps else 0, len(store_gaps),
              shares))
    if counts["partitions"]:
        unhealthy, healthy = counts["unhealthy_after"], counts["healthy_after"]
        print("chaos: /healthz 503 after a cut p50=%dms max=%dms, 200 after "
              "the heal p50=%dms max=%dms (%d cuts), wrong=%d" % (
                  percentile(unhealthy, 0.5), max(unhealthy or [0]),
                  percentile(healthy, 0.5), max(healthy or [0]),
                  counts["partitions"], len(counts["health_wrong"])))
    for wrong in counts["health_wrong"]:
        print("chaos:   %s" % wrong)
    for example in report["examples"][:20]:
        print("chaos:   %s" % example)
    if report["expected"] == 0:
        print("chaos:   no firing fell due in the window: nothing was checked")
    failed = (report["duplicates"] or report["missing"] or report["early"] or
              (args.fail_late and report["late"]) or
              report["unknown"] or report["count_mismatches"] or
              counts["exits"] or counts["health_wrong"] or
              report["expected"] == 0)
    if args.keep or failed:
        print("chaos: logs and data kept in %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
