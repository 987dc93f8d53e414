#!/usr/bin/python3
"""What a synchronous standby costs per firing (docs/RELIABILITY.md).

Starts a PostgreSQL primary and a streaming standby on loopback (the chaos
tool's standby topology), then, for each replication mode below, applies
ENTRIES one-off entries due at one instant and runs one `stem beat` on the
multi-host URL until the jobs table holds them all: the firing rate, the
Beat's CPU and the primary's (every process of its postmaster, from /proc)
per firing. Median of RUNS runs each.

  asynchronous   the default of PostgreSQL: a commit waits for the
                 primary's own WAL flush only
  synchronous    synchronous_standby_names = '*': a commit also waits for
                 the standby to have flushed it

Usage: tools/bench/standby_sync.py STEM [ENTRIES] [RUNS]
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "chaos"))
import chaos  # noqa: E402  (its standby topology)
from sentinel_wait import cpu_seconds, write_one_offs  # noqa: E402


def server_processes(data):
    """CPU seconds of the postmaster of `data` and each of its children."""
    with open(os.path.join(data, "postmaster.pid")) as pid:
        postmaster = int(pid.readline())
    result = {postmaster: cpu_seconds(postmaster)}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == postmaster:
                result[int(entry)] = cpu_seconds(int(entry))
        except (OSError, ValueError):
            continue
    return result


def one_run(stem, topology, namespace, entries, work):
    url = topology.store_url.replace("namespace=%s" % chaos.NAMESPACE,
                                     "namespace=%s" % namespace)
    path = os.path.join(work, "%s.yaml" % namespace)
    due = write_one_offs(path, entries, namespace + "-")
    subprocess.run([stem, "--store", url, "schedule", "apply", "-f", path,
                    "--yes"], check=True, stdout=subprocess.DEVNULL)
    beat = subprocess.Popen([stem, "--store", url, "beat", "--broker", url],
                            stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(work, "beat.log"), "a"))
    count = ("SELECT count(*) FROM stem_queue_jobs WHERE namespace = '%s'" %
             namespace)
    data = topology.datas[topology.primary_index]
    # Counters read just before the instant; the time from the instant.
    while time.time() < due.timestamp() - 0.3:
        time.sleep(0.01)
    began, cpu0 = time.time(), cpu_seconds(beat.pid)
    server0 = server_processes(data)
    if int(topology.sql(count) or 0):
        raise RuntimeError("firings went out before the timing began")
    while int(topology.sql(count) or 0) < entries:
        time.sleep(0.02)
    took = time.time() - max(began, due.timestamp())
    cpu = cpu_seconds(beat.pid) - cpu0
    server = sum(seconds - server0.get(pid, 0.0)
                 for pid, seconds in server_processes(data).items())
    beat.terminate()
    beat.wait()
    return entries / took, cpu / entries * 1e6, server / entries * 1e6


def main():
    stem = os.path.abspath(sys.argv[1])
    entries = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    work = tempfile.mkdtemp(prefix="stem-standby-bench-")
    os.chmod(work, 0o755)
    topology = chaos.PostgresStandbyBackend(work)
    topology.start()
    try:
        for mode, names in (("asynchronous", ""), ("synchronous", "*")):
            topology.sql("ALTER SYSTEM SET synchronous_standby_names = '%s'" %
                         names, database="postgres")
            topology.sql("SELECT pg_reload_conf()", database="postgres")
            expected = "sync" if names else "async"
            while expected not in topology.sql(
                    "SELECT sync_state FROM pg_stat_replication",
                    database="postgres"):
                time.sleep(0.05)
            results = [one_run(stem, topology, "%s_%d" % (mode[:5], run),
                               entries, work) for run in range(runs)]
            rate, beat_us, server_us = (statistics.median(r[i] for r in results)
                                        for i in range(3))
            print("%-14s %8.0f firings/s  Beat %5.1f us  primary %5.1f us "
                  "per firing (median of %d, %d one-offs)" % (
                      mode, rate, beat_us, server_us, runs, entries),
                  flush=True)
    finally:
        topology.stop()


if __name__ == "__main__":
    main()
