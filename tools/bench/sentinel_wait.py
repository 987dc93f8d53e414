#!/usr/bin/python3
"""What waiting for a replica costs per firing (docs/RELIABILITY.md).

Starts a Redis primary, one replica and three Sentinels on loopback (the
chaos tool's topology), then, for each URL below, applies ENTRIES one-off
entries due at one instant and runs one `stem beat` until the broker holds
them all: wall time, the Beat's CPU (/proc) and the primary's (INFO cpu)
per firing. Median of RUNS runs each.

  redis://PRIMARY            no replica wait (the plain URL)
  redis-sentinel://...#m     wait_replicas=0: Sentinel, no wait
  redis-sentinel://...#m     the default: WAIT 1 after each write

Usage: tools/bench/sentinel_wait.py STEM [ENTRIES] [RUNS]
"""
import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "chaos"))
import chaos  # noqa: E402  (its Sentinel topology and RESP client)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(port):
    client = chaos.Resp(port)
    info = client.call("INFO", "cpu")
    client.close()
    values = dict(line.split(":", 1) for line in info.splitlines()
                  if ":" in line)
    return float(values["used_cpu_sys"]) + float(values["used_cpu_user"])


def write_one_offs(path, entries, prefix="b"):
    """A schedule file of `entries` one-offs due at one whole second 8 s
    from now; that instant."""
    due = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=8)
    due = due.replace(microsecond=0)  # the spec names whole seconds
    stamp = due.strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(path, "w") as out:
        for i in range(entries):
            out.write("- id: %s%06d\n  task: bench.job\n  spec: at:%s\n" %
                      (prefix, i, stamp))
    return due


def one_run(stem, url, namespace, entries, work, primary_port):
    path = os.path.join(work, "%s.yaml" % namespace)
    due = write_one_offs(path, entries)
    subprocess.run([stem, "--store", url, "schedule", "apply", "-f", path,
                    "--yes"], check=True, stdout=subprocess.DEVNULL)
    beat = subprocess.Popen([stem, "--store", url, "beat", "--broker", url],
                            stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(work, "beat.log"), "a"))
    client = chaos.Resp(primary_port)
    stream = "%s:stream:default" % namespace
    # Counters read just before the instant; the time from the instant.
    while time.time() < due.timestamp() - 0.3:
        time.sleep(0.01)
    began, cpu0, server0 = time.time(), cpu_seconds(beat.pid), \
        server_cpu(primary_port)
    if client.call("XLEN", stream):
        raise RuntimeError("firings went out before the timing began: "
                           "%s at %.3f, due %.3f" % (
                               client.call("XLEN", stream), time.time(),
                               due.timestamp()))
    while (client.call("XLEN", stream) or 0) < entries:
        time.sleep(0.005)
    took = time.time() - max(began, due.timestamp())
    cpu = cpu_seconds(beat.pid) - cpu0
    server = server_cpu(primary_port) - server0
    beat.terminate()
    beat.wait()
    client.close()
    return entries / took, cpu / entries * 1e6, server / entries * 1e6


def main():
    stem = os.path.abspath(sys.argv[1])
    entries = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    work = tempfile.mkdtemp(prefix="stem-sentinel-bench-")
    topology = chaos.RedisSentinelBackend(work)
    topology.start()
    try:
        primary = topology.port
        sentinel_url = "%s#%s" % (topology.store_url.split("?")[0],
                                  topology.MASTER)
        urls = [
            ("redis:// (no wait)", "redis://127.0.0.1:%d/0" % primary),
            ("sentinel, wait_replicas=0", sentinel_url),
            ("sentinel, wait_replicas=1 (default)", sentinel_url),
        ]
        for index, (label, base) in enumerate(urls):
            results = []
            for run in range(runs):
                namespace = "b%d_%d" % (index, run)
                extra = "&wait_replicas=0" if "=0" in label else ""
                url = "%s?namespace=%s%s" % (base.split("#")[0], namespace,
                                              extra)
                if "#" in base:
                    url += "#" + base.split("#")[1]
                results.append(one_run(stem, url, namespace, entries, work,
                                       primary))
            rate, beat_us, server_us = (statistics.median(r[i] for r in results)
                                        for i in range(3))
            print("%-38s %8.0f firings/s  Beat %5.1f us  primary %5.1f us "
                  "per firing (median of %d, %d one-offs)" % (
                      label, rate, beat_us, server_us, runs, entries),
                  flush=True)
    finally:
        topology.stop()


if __name__ == "__main__":
    main()
