#!/usr/bin/python3
"""What one firing costs, in CPU, on each backend (docs/PERFORMANCE.md).

For each backend below and each `stem` binary given (LABEL=PATH, to compare
two builds in one run on one server), applies ENTRIES one-off entries due
at one instant and runs one `stem beat` until the broker holds them all:
firings per second from the instant, and the CPU per firing of the Beat
(/proc) and of the server (Redis: INFO cpu; PostgreSQL: the postmaster and
its backends, from /proc). Median of RUNS runs each; the binaries take
turns, so that a noisy minute hurts both alike.

  redis     one redis-server, no persistence, store and broker on it
  postgres  one PostgreSQL, store and broker in its database (publish and
            commit in one transaction)

Usage: tools/bench/firing_cost.py [--entries N] [--runs N]
           [--backends redis,postgres] [--perf FILE] LABEL=STEM [...]

--perf FILE: one run of the first binary under `perf record` (FILE.redis,
FILE.postgres), for `perf report`; its figures are not printed.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "chaos"))
import chaos  # noqa: E402  (its servers and RESP client)
from sentinel_wait import cpu_seconds, server_cpu, write_one_offs  # noqa: E402
from standby_sync import server_processes  # noqa: E402


class Redis:
    name = "redis"

    def __init__(self, work):
        self.work = work
        self.port = chaos.free_port()
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.work,
             "--logfile", os.path.join(self.work, "redis.log")])
        chaos.wait_for_port(self.port)

    def stop(self):
        self.process.kill()
        self.process.wait()

    def url(self, namespace):
        return "redis://127.0.0.1:%d/0?namespace=%s" % (self.port, namespace)

    def cpu(self):
        return server_cpu(self.port)

    def published(self, namespace):
        client = chaos.Resp(self.port)
        try:
            return int(client.call("XLEN", "%s:stream:default" % namespace)
                       or 0)
        finally:
            client.close()


class Postgres:
    name = "postgres"

    def __init__(self, work):
        self.server = chaos.PostgresBackend(work)

    def start(self):
        self.server.start()

    def stop(self):
        self.server.stop()

    def url(self, namespace):
        return self.server.store_url.replace(
            "namespace=%s" % chaos.NAMESPACE, "namespace=%s" % namespace)

    def cpu(self):
        return sum(server_processes(self.server.data).values())

    def published(self, namespace):
        return int(self.server.sql(
            "SELECT count(*) FROM stem_queue_jobs WHERE namespace = '%s'" %
            namespace) or 0)


def one_run(stem, backend, namespace, entries, work, perf=None):
    url = backend.url(namespace)
    path = os.path.join(work, "%s.yaml" % namespace)
    due = write_one_offs(path, entries, namespace + "-")
    subprocess.run([stem, "--store", url, "schedule", "apply", "-f", path,
                    "--yes"], check=True, stdout=subprocess.DEVNULL)
    # With --perf the Beat runs under `perf record` (its figures are then
    # perf's own, not the Beat's: read the profile, not them).
    wrap = (["perf", "record", "-q", "-F", "999", "--call-graph",
             "dwarf,16384", "-o", perf, "--"] if perf else [])
    beat = subprocess.Popen(wrap + [stem, "--store", url, "beat", "--broker",
                                    url],
                            stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(work, "beat.log"), "a"))
    try:
        # Counters read just before the instant; the time from the instant.
        while time.time() < due.timestamp() - 0.3:
            time.sleep(0.01)
        began, beat0, server0 = time.time(), cpu_seconds(beat.pid), \
            backend.cpu()
        if backend.published(namespace):
            raise RuntimeError("firings went out before the timing began")
        while backend.published(namespace) < entries:
            if beat.poll() is not None:
                raise RuntimeError("stem beat exited (%d): see %s" %
                                   (beat.returncode, work))
            time.sleep(0.01)
        took = time.time() - max(began, due.timestamp())
        beat_cpu = cpu_seconds(beat.pid) - beat0
        server = backend.cpu() - server0
    finally:
        beat.send_signal(2 if perf else 15)
        beat.wait()
    return entries / took, beat_cpu / entries * 1e6, server / entries * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="redis,postgres")
    parser.add_argument("--perf", metavar="FILE",
                        help="one run of the first binary under perf record")
    parser.add_argument("stems", nargs="+", metavar="LABEL=STEM")
    args = parser.parse_args()
    stems = []
    for item in args.stems:
        label, _, path = item.rpartition("=")
        stems.append((label or os.path.basename(path), os.path.abspath(path)))
    work = tempfile.mkdtemp(prefix="stem-firing-cost-")
    os.chmod(work, 0o755)  # PostgreSQL's user reads its data dir below
    kinds = {"redis": Redis, "postgres": Postgres}
    for name in args.backends.split(","):
        backend = kinds[name](os.path.join(work, name))
        os.makedirs(os.path.join(work, name))
        os.chmod(os.path.join(work, name), 0o777)
        backend.start()
        try:
            results = {label: [] for label, _ in stems}
            if args.perf:
                one_run(stems[0][1], backend, "perf", args.entries, work,
                        "%s.%s" % (args.perf, name))
                continue
            for run in range(args.runs):
                for index, (label, stem) in enumerate(stems):
                    results[label].append(one_run(
                        stem, backend, "c%d_%d" % (index, run), args.entries,
                        work))
            for label, _ in stems:
                rate, beat_us, server_us = (
                    statistics.median(r[i] for r in results[label])
                    for i in range(3))
                print("%-9s %-24s %8.0f firings/s  Beat %6.1f us  server "
                      "%6.1f us per firing (median of %d, %d one-offs)" % (
                          name, label, rate, beat_us, server_us, args.runs,
                          args.entries), flush=True)
        finally:
            backend.stop()


if __name__ == "__main__":
    main()
