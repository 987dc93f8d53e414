#!/usr/bin/python3
"""Measures stem-beat and its peers and writes docs/PERFORMANCE.md's report.

Run through tools/bench/run_all.sh, which builds the -c opt targets first.
Each figure is the median of several runs (the others in brackets), with
the date and the command that reproduces it. Peers run in the same run:
Debian's python3-croniter (cron), python3-ephem and python3-astral (sun
times), and Celery beat (dispatch). The machine is shared and noisy: compare
figures of one run, not of different days.
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, "bazel-bin")
STEM = os.path.join(BIN, "beat", "cli", "stem")
BEGIN = "<!-- tools/bench/run_all.sh: begin -->"
END = "<!-- tools/bench/run_all.sh: end -->"
TODAY = datetime.date.today().isoformat()
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def log(text):
    print("run_all: " + text, file=sys.stderr, flush=True)


def run(args, cwd=None, timeout=3600):
    result = subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=timeout)
    text = result.stdout.decode("utf-8", "replace")
    if result.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(args[:2]),
                                                  result.returncode, text[-800:]))
    return text


def median_of(values):
    return statistics.median(values)


def spread(values, fmt):
    """'median (min-max)' of several runs."""
    if len(values) == 1:
        return fmt(values[0])
    low, high = fmt(min(values)), fmt(max(values))
    unit = fmt(median_of(values)).split(" ", 1)
    if len(unit) == 2 and low.endswith(" " + unit[1]) and high.endswith(" " + unit[1]):
        low = low[:-len(unit[1]) - 1]  # "52 ns (50-55 ns)"
    return "%s (%s–%s)" % (fmt(median_of(values)), low, high)


def ns(value):
    if value >= 10000:
        return "%.1f µs" % (value / 1000)
    return "%.0f ns" % value if value >= 100 else "%.1f ns" % value


def us(value):
    return "%.1f µs" % value if value < 100 else "%.0f µs" % value


def per_s(value):
    return "{:,.0f}/s".format(value)


def ms(value):
    return "%.1f ms" % value if value < 10 else "%.0f ms" % value


def seconds(value):
    return "%.2f s" % value


def mib(value):
    return "%.1f MiB" % value


# --- Schedule math -----------------------------------------------------------

CRON_SPECS = [  # (benchmark name, expression, zone)
    ("every_5_minutes_utc", "*/5 * * * *", "UTC"),
    ("weekdays_9am_utc", "0 9 * * 1-5", "UTC"),
    ("lists_steps_ranges_utc", "15,45 */2 1-15 * *", "UTC"),
    ("fixed_2_30_new_york", "30 2 * * *", "America/New_York"),
    ("every_5_minutes_new_york", "*/5 * * * *", "America/New_York"),
    ("leap_day_utc", "0 0 29 2 *", "UTC"),
    ("last_friday_utc", "0 18 * * 5L", "UTC"),
    ("seconds_utc", "*/10 * * * * *", "UTC"),
]
SOLAR = [("sunrise_london", "sunrise"), ("sunset_london", "sunset"),
         ("solar_noon_london", "solar noon"),
         ("dusk_astronomical_london", "astronomical dusk")]


def google_benchmark(binary, repetitions, filter_=None):
    """name -> [real_time ns of each repetition]."""
    args = [os.path.join(BIN, binary), "--benchmark_format=json",
            "--benchmark_repetitions=%d" % repetitions]
    if filter_:
        args.append("--benchmark_filter=" + filter_)
    out = run(args, cwd=os.path.dirname(os.path.join(BIN, binary)))
    data = json.loads(out[out.index("{"):])
    times = {}
    for bench in data["benchmarks"]:
        if bench.get("run_type") == "aggregate":
            continue
        name = bench["run_name"]
        scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[bench["time_unit"]]
        times.setdefault(name, []).append(
            (bench["real_time"] * scale, bench.get("items_per_second")))
    return times


def croniter_next_ns(expression, zone, runs, calls=20000):
    from croniter import croniter
    from zoneinfo import ZoneInfo
    results = []
    for _ in range(runs):
        start = START.astimezone(ZoneInfo(zone))
        iterator = croniter(expression, start)
        began = time.perf_counter()
        for _ in range(calls):
            iterator.get_next(datetime.datetime)
        results.append((time.perf_counter() - began) * 1e9 / calls)
    return results


def ephem_next_ns(event, runs, calls=3000):
    import ephem
    results = []
    for _ in range(runs):
        observer = ephem.Observer()
        observer.lat, observer.lon = "51.5", "-0.12"
        observer.date = ephem.Date("2026/1/1")
        sun = ephem.Sun()
        began = time.perf_counter()
        if event == "astronomical dusk":
            observer.horizon = "-18"
        for _ in range(calls):
            try:
                if event == "sunrise":
                    observer.date = observer.next_rising(sun)
                elif event == "sunset":
                    observer.date = observer.next_setting(sun)
                elif event == "solar noon":
                    observer.date = observer.next_transit(sun)
                else:
                    observer.date = observer.next_setting(sun, use_center=True)
            except ephem.CircumpolarError:  # no astronomical dusk in June
                observer.date += 1
            observer.date += ephem.second
        results.append((time.perf_counter() - began) * 1e9 / calls)
    return results


def astral_ns(event, runs, calls=3000):
    from astral import Astral, Location
    location = Location(("London", "England", 51.5, -0.12, "UTC", 0))
    results = []
    for _ in range(runs):
        day = datetime.date(2026, 1, 1)
        began = time.perf_counter()
        for i in range(calls):
            date = day + datetime.timedelta(days=i % 3650)
            if event == "sunrise":
                location.sunrise(date)
            elif event == "sunset":
                location.sunset(date)
            elif event == "solar noon":
                location.solar_noon(date)
            else:
                location.solar_depression = "astronomical"
                try:
                    location.dusk(date)
                except Exception:  # AstralError: none in June
                    pass
        results.append((time.perf_counter() - began) * 1e9 / calls)
    return results


def schedule_math(runs):
    log("schedule math: cron, solar and interval Next(), and the peers")
    cron = google_benchmark("beat/specs/cron_benchmark", runs)
    solar = google_benchmark("beat/specs/solar_benchmark", runs)
    interval = google_benchmark("beat/specs/interval_benchmark", runs)
    rows = []
    for name, expression, zone in CRON_SPECS:
        ours = [t for t, _ in cron["BM_CronNext/" + name]]
        peer = "–"
        if len(expression.split()) == 5:  # croniter's 6th field is seconds, last
            try:
                theirs = croniter_next_ns(expression, zone, runs)
                peer = "%s (%.0f×)" % (spread(theirs, ns),
                                       median_of(theirs) / median_of(ours))
            except Exception as error:  # a form croniter does not take
                peer = "fails (%s: %s)" % (type(error).__name__,
                                          str(error).splitlines()[0][:60])
        rows.append(["`%s` %s" % (expression, zone), spread(ours, ns), peer, "–"])
    parse = [t for t, _ in cron["BM_CronParse"]]
    rows.append(["parse `15,45 */2 1-15 * *`", spread(parse, ns), "–", "–"])
    for name, event in SOLAR:
        ours = [t for t, _ in solar["BM_SolarNext/" + name]]
        theirs = ephem_next_ns(event, runs)
        other = astral_ns(event, runs)
        rows.append([
            "%s at (51.5, −0.12)" % event, spread(ours, ns),
            "ephem %s (%.0f×)" % (spread(theirs, ns), median_of(theirs) / median_of(ours)),
            "astral %s (%.0f×)" % (spread(other, ns), median_of(other) / median_of(ours))])
    every = [t for t, _ in interval["BM_IntervalNext"]]
    rows.append(["`every:30s` (interval)", spread(every, ns), "–", "–"])
    command = ("`bazel run -c opt //beat/specs:cron_benchmark` (and "
               "`:solar_benchmark`, `:interval_benchmark`); peers in "
               "`tools/bench/report.py`")
    return {"title": "Schedule math: one `Next()`",
            "note": ("Per call, walking successive fire times from "
                     "2026-01-01. croniter: `get_next()` on the same "
                     "expression and zone; ephem: `next_rising/setting/"
                     "transit`; astral 1.6: the day's event. × = how many "
                     "times slower than stem-beat."),
            "header": ["what", "stem-beat", "peer", "peer"],
            "rows": rows, "command": command}


# --- Schedule files ----------------------------------------------------------

def make_entries(count):
    specs = ["*/5 * * * *", "0 9 * * 1-5", "every:30s", "every:1h",
             "solar:sunrise@51.5,-0.12", "30 2 * * *"]
    return [{"id": "job-%06d" % i, "task": "tasks.t%d" % (i % 50),
             "spec": specs[i % 6], "queue": "q%d" % (i % 5), "args": {"n": i},
             "timezone": "Europe/London" if i % 3 == 0 else "UTC"}
            for i in range(count)]


def timed(args, cwd, env=None):
    began = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)
    if result.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), result.stderr.decode()[-500:]))
    return time.perf_counter() - began


def schedule_files(runs, count):
    log("apply and list of %d entries (file store)" % count)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        with open(os.path.join(work, "entries.json"), "w") as out:
            json.dump(make_entries(count), out)
        applies, lists = [], []
        for _ in range(runs):
            subprocess.run(["rm", "-rf", os.path.join(work, ".stem")])
            applies.append(timed([STEM, "schedule", "apply", "-f",
                                  "entries.json", "--yes"], work))
        for _ in range(runs):
            lists.append(timed([STEM, "schedule", "list", "--output", "json"],
                               work))
    rows.append(["`stem schedule apply -f` of %s entries, empty file store" %
                 "{:,}".format(count), spread(applies, seconds)])
    rows.append(["`stem schedule list --output json` of them",
                 spread(lists, seconds)])
    return {"title": "Schedule files",
            "note": "A JSON file of %s entries of six spec kinds, a third "
                    "in Europe/London." % "{:,}".format(count),
            "header": ["what", "stem-beat"], "rows": rows,
            "command": "`tools/bench_file_store.sh %d`" % count}


# --- Dispatch ------------------------------------------------------------------

def celery_dispatch(count):
    """Celery beat's scheduler: `count` entries all due, sent to kombu's
    in-memory transport; firings per second."""
    script = r'''
import datetime, sys, time
from celery import Celery
from celery.beat import Scheduler
count = int(sys.argv[1])
app = Celery("bench", broker="memory://")
app.conf.beat_schedule = {"e%d" % i: {"task": "tasks.t", "schedule": 3600.0}
                          for i in range(count)}
scheduler = Scheduler(app)
past = app.now() - datetime.timedelta(hours=2)
for entry in scheduler.schedule.values():
    entry.last_run_at = past
sent = 0
send = scheduler.apply_async
def counting(entry, producer=None, advance=True, **kwargs):
    global sent
    sent += 1
    return send(entry, producer=producer, advance=advance, **kwargs)
scheduler.apply_async = counting
began = time.perf_counter()
while sent < count:
    scheduler.tick()
print(count / (time.perf_counter() - began))
'''
    out = run(["/usr/bin/python3", "-c", script, str(count)], timeout=1200)
    return float(out.strip().splitlines()[-1])


def chaos(backend, faults, duration, beats, entries=None):
    args = ["/usr/bin/python3", os.path.join(ROOT, "tools/chaos/chaos.py"),
            "--stem", STEM, "--backend", backend, "--faults", faults,
            "--duration", str(duration), "--beats", str(beats), "--quiet",
            "--settle", "30"]
    if entries:
        args += ["--entries", str(entries)]
    out = run(args, timeout=1800)
    match = re.search(r"delay p50=(\d+)ms p99=(\d+)ms max=(\d+)ms \| "
                      r"failover gap p50=(\d+)ms max=(\d+)ms \((\d+) faults\)", out)
    counts = re.search(r"duplicates=(\d+) missing=(\d+)", out)
    if not match or not counts:
        raise RuntimeError("chaos said: " + out[-500:])
    return [int(x) for x in match.groups()] + [int(x) for x in counts.groups()]


def file_dispatch(count):
    """`count` every:1h entries in a file store, made due with
    --clock-offset, sent by one `stem beat --once` to a file broker."""
    with tempfile.TemporaryDirectory() as work:
        entries = [{"id": "job-%06d" % i, "task": "tasks.t", "spec": "every:1h"}
                   for i in range(count)]
        with open(os.path.join(work, "e.json"), "w") as out:
            json.dump(entries, out)
        run([STEM, "schedule", "apply", "-f", "e.json", "--yes"], cwd=work)
        took = timed([STEM, "beat", "--once", "--clock-offset", "2h",
                      "--broker", "file://%s/broker.jsonl" % work], work)
        with open(os.path.join(work, "broker.jsonl")) as sent:
            lines = sum(1 for _ in sent)
        if lines != count:
            raise RuntimeError("file broker holds %d of %d" % (lines, count))
        return count / took


def backend_benchmark(name, runs, entries, due):
    """Redis or PostgreSQL at scale: beat/cli/<name>_benchmark."""
    binary = os.path.join(BIN, "beat/cli/%s_benchmark" % name)
    cwd = binary + ".runfiles/stem_beat"
    results = []
    for i in range(runs):
        log("%s benchmark, run %d of %d (%d entries, %d due)" %
            (name, i + 1, runs, entries, due))
        out = run([binary, STEM, str(entries), str(due)], cwd=cwd, timeout=3600)
        one = re.search(r"^1 stem beat: \d+ due dispatched in [\d.]+ s = (\d+) firings/s",
                        out, re.M)
        idle = re.search(r"idle stem beat, \d+ entries, 10 s: CPU (\d+) ms, "
                         r"peak RSS ([\d.]+) MiB", out)
        load = re.search(r"^load \d+ entries: [\d.]+ s \((\d+) entries/s\)", out, re.M)
        due_q = re.search(r"Due with none due, \d+ entries: median (\d+) us", out)
        if not (one and idle and load and due_q):
            raise RuntimeError("%s_benchmark said: %s" % (name, out[-800:]))
        results.append((float(one.group(1)), float(idle.group(1)),
                        float(idle.group(2)), float(load.group(1)),
                        float(due_q.group(1))))
    return results


def dispatch(runs, quick):
    rows = []
    log("memory: the runner, 100,000 due at once (through the plugin ABI)")
    memory = google_benchmark("beat/core/runner/runner_benchmark", runs,
                              "BM_DispatchAllDueAtOnce/100000/0")
    memory_rate = [items for _, items in
                   memory["BM_DispatchAllDueAtOnce/100000/0/iterations:3"]] \
        if "BM_DispatchAllDueAtOnce/100000/0/iterations:3" in memory else \
        [items for _, items in list(memory.values())[0]]
    log("memory: drift, 1,000 entries every second")
    drift_seconds = 10 if quick else 30
    drift_out = run([os.path.join(BIN, "beat/core/runner/runner_drift_benchmark"),
                     str(drift_seconds), "1000"],
                    cwd=os.path.join(BIN, "beat/core/runner"))
    drift = re.search(r"median ([\d.]+) ms\s+p99 ([\d.]+) ms\s+max ([\d.]+) ms", drift_out)
    rows.append(["memory (the runner in-process, through the plugin ABI)",
                 spread(memory_rate, per_s),
                 "%s / %s / %s" % (ms(float(drift.group(1))), ms(float(drift.group(2))),
                                   ms(float(drift.group(3)))),
                 "`bazel run -c opt //beat/core/runner:runner_benchmark`; "
                 "`:runner_drift_benchmark %d 1000`" % drift_seconds])
    log("file: stem beat --once, 20,000 due at once")
    file_count = 5000 if quick else 20000
    file_rates = [file_dispatch(file_count) for _ in range(runs)]
    file_drift = chaos("file", "none", 20 if quick else 60, 1)
    rows.append(["file store + file broker (`stem beat`)",
                 "%s (%s due)" % (spread(file_rates, per_s), "{:,}".format(file_count)),
                 "%s / %s / %s" % tuple(ms(x) for x in file_drift[:3]),
                 "`tools/bench/report.py` (file_dispatch); "
                 "`tools/chaos/chaos.py --backend file --faults none`"])
    scale = {}
    for backend in ("redis", "postgres"):
        entries, due = (100000, 20000) if quick else (1000000, 100000)
        results = backend_benchmark(backend, runs, entries, due)
        scale[backend] = (results, entries, due)
        delay = chaos(backend, "none", 20 if quick else 60, 1, 1000)
        rows.append(["%s (`stem beat`, store and broker on one server)" %
                     ("Redis" if backend == "redis" else "PostgreSQL"),
                     "%s (%s due)" % (spread([r[0] for r in results], per_s),
                                      "{:,}".format(due)),
                     "%s / %s / %s" % tuple(ms(x) for x in delay[:3]),
                     "`tools/bench_%s.sh %d %d`; `tools/chaos/chaos.py "
                     "--backend %s --faults none --entries 1000`" %
                     (backend, entries, due, backend)])
    celery_rows = []
    for count in (1000, 2000):
        log("Celery beat: %d due at once" % count)
        try:
            rates = [celery_dispatch(count) for _ in range(runs)]
            celery_rows.append(["Celery beat 5.2 (its scheduler, kombu's "
                                "memory transport)",
                                "%s (%s due)" % (spread(rates, per_s), "{:,}".format(count)),
                                "–", "`tools/bench/report.py` (celery_dispatch)"])
        except Exception as error:
            celery_rows.append(["Celery beat", "did not run: %s" % error, "–", "–"])
    rows += celery_rows
    return ({"title": "Dispatch: firings per second, and drift",
             "note": ("Throughput: entries all due at once, start to last "
                      "envelope in the broker. Drift: how late each firing "
                      "reached the broker, median / p99 / max, with 1,000 "
                      "entries firing every second (memory) or the chaos "
                      "tool's mixed schedules without faults (file: 120 "
                      "entries; Redis, PostgreSQL: 1,000), arrival by the "
                      "server's clock. Celery beat's scheduler checks its "
                      "whole schedule on every tick, so it slows as it "
                      "grows: it is measured at 1,000 and 2,000."),
             "header": ["store and broker", "throughput", "drift p50 / p99 / max",
                        "command"],
             "rows": rows, "command": None}, scale)


def idle_and_memory(runs, quick, scale):
    rows = []
    entries = 100000 if quick else 1000000
    log("idle: memory store, %d entries" % entries)
    cpu = []
    for _ in range(runs):
        out = run([os.path.join(BIN, "beat/core/runner/runner_idle_benchmark"),
                   "10", str(entries)], cwd=os.path.join(BIN, "beat/core/runner"))
        cpu.append(float(re.search(r"cpu ([\d.]+) ms", out).group(1)))
    rows.append(["memory store (the runner, 10 s)", "{:,}".format(entries),
                 spread(cpu, ms), "–",
                 "`bazel run -c opt //beat/core/runner:runner_idle_benchmark 10 %d`" % entries])
    for backend, (results, count, due) in scale.items():
        rows.append(["%s (`stem beat`, 10 s)" % ("Redis" if backend == "redis" else "PostgreSQL"),
                     "{:,}".format(count),
                     spread([r[1] for r in results], ms),
                     spread([r[2] for r in results], mib),
                     "`tools/bench_%s.sh %d %d`" % (backend, count, due)])
        rows.append(["%s: load (`Upsert`, batches of 5,000); `Due` with none due" %
                     ("Redis" if backend == "redis" else "PostgreSQL"),
                     "{:,}".format(count),
                     spread([r[3] for r in results], per_s),
                     spread([r[4] for r in results], us),
                     "`tools/bench_%s.sh %d %d`" % (backend, count, due)])
    return {"title": "An idle Beat: CPU and memory",
            "note": ("Nothing due until tomorrow. For the load rows, the "
                     "third column is entries loaded per second and the "
                     "fourth the median `Due` query."),
            "header": ["what", "entries", "CPU in 10 s", "peak RSS", "command"],
            "rows": rows, "command": None}


def failover(quick):
    rows = []
    for backend in ("redis", "postgres"):
        duration = 30 if quick else 90
        log("failover: %s, 2 Beats, SIGKILL and SIGSTOP for %d s" % (backend, duration))
        result = chaos(backend, "kill,stop", duration, 2, 1000)
        rows.append(["%s, 2 `stem beat`s" % ("Redis" if backend == "redis" else "PostgreSQL"),
                     "%.1f s / %.1f s (%d faults)" % (result[3] / 1000.0,
                                                     result[4] / 1000.0, result[5]),
                     "%d / %d" % (result[6], result[7]),
                     "`tools/chaos/chaos.py --backend %s --beats 2 --faults "
                     "kill,stop --duration %d --entries 1000`" % (backend, duration)])
    return {"title": "Failover",
            "note": ("The gap between a Beat's SIGKILL or SIGSTOP and the "
                     "next firing sent by the other (lease TTL 5 s), p50 / max; "
                     "and the duplicates and missing firings the chaos tool "
                     "found (both must be 0)."),
            "header": ["store and broker", "failover gap p50 / max",
                       "duplicates / missing", "command"],
            "rows": rows, "command": None}


def render(sections, quick, took):
    uname = os.uname()
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = re.search(r"model name\s*:\s*(.*)", info.read()).group(1)
    except OSError:
        pass
    lines = [BEGIN, "",
             "## The report (%s)" % TODAY, "",
             "Written by `tools/bench/run_all.sh%s` on %s: %d × %s, %s, "
             "Linux %s, `-c opt`; %d minutes. Each figure: the median of the "
             "runs, (min-max) when there were several." % (
                 " --quick" if quick else "", TODAY, os.cpu_count(), cpu,
                 "%.0f GiB" % (os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
                 uname.release, took / 60), ""]
    for section in sections:
        lines += ["### " + section["title"], "",
                  section["note"] + " Measured " + TODAY + ".", ""]
        lines.append("| " + " | ".join(section["header"]) + " |")
        lines.append("|" + "|".join("---" for _ in section["header"]) + "|")
        for row in section["rows"]:
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        if section["command"]:
            lines += ["Command: " + section["command"] + ".", ""]
    lines.append(END)
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="fewer entries, runs and seconds (minutes, not an hour)")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--out", default=os.path.join(ROOT, "docs/PERFORMANCE.md"))
    parser.add_argument("--only", default="math,files,dispatch,idle,failover")
    parser.add_argument("--entries", type=int, default=None,
                        help="entries in the schedule-files section")
    parser.add_argument("--print-only", action="store_true",
                        help="print the tables, leave --out alone")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 5)
    only = set(args.only.split(","))
    began = time.time()
    sections = []
    scale = {}
    if "math" in only:
        sections.append(schedule_math(runs))
    if "files" in only:
        sections.append(schedule_files(
            min(runs, 3) if args.quick else runs,
            args.entries or (20000 if args.quick else 100000)))
    if "dispatch" in only:
        section, scale = dispatch(min(runs, 3), args.quick)
        sections.append(section)
    if "idle" in only:
        sections.append(idle_and_memory(min(runs, 3), args.quick, scale))
    if "failover" in only:
        sections.append(failover(args.quick))
    report = render(sections, args.quick, time.time() - began)
    print(report)
    if args.print_only:
        return
    with open(args.out) as current:
        text = current.read()
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + report + text[text.index(END) + len(END):]
    else:
        head, _, rest = text.partition("\n## ")
        text = head.rstrip("\n") + "\n\n" + report + "\n\n## " + rest
    with open(args.out, "w") as out:
        out.write(text)
    log("wrote %s" % args.out)


if __name__ == "__main__":
    main()
