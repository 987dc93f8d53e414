#!/usr/bin/python3
"""The firing path's stages, in CPU µs per firing, from a `perf` profile.

Reads `perf script` output of a profile taken with call graphs (`perf
record -F FREQ --call-graph dwarf`; tools/bench/firing_cost.py --perf
takes one of `stem beat`) and puts each sample in the stage of its
innermost frame that names one (the table in docs/PERFORMANCE.md):

  claim     the store's claim (or due) query, and giving claims back
  plan      working out the firings and the entry's new state
  envelope  building the task envelopes
  publish   the broker's publish
  commit    the store's compare-and-set write (or publish and commit in one)
  history   the run records
  loop      the runner's own bookkeeping (groups, threads, metrics)
  other     the rest of the process (start-up, logging, the HTTP thread)

Usage: perf script -i FILE | tools/bench/perf_stages.py --firings N
           [--frequency 999] [--under PATTERN]

--under PATTERN: only the samples with a frame that matches (a benchmark's
timed part, e.g. `Runner::Tick`, leaving its set-up out).
"""
import argparse
import collections
import re
import sys

# Innermost first: the first pattern a frame matches names its stage.
STAGES = [
    ("history", r"AddHistory|::AppendHistory"),
    ("claim", r"::ClaimDue|Store::Due\b|::ReleaseClaims|Runner::ReleaseClaims"),
    ("envelope", r"MakeEnvelope|FiringId"),
    ("plan", r"Runner::MakePlan|Runner::ScheduleOf"),
    ("publish", r"Broker>?::Publish|Runner::PublishGroup"),
    ("commit", r"::Upsert|Runner::CommitGroup|Runner::PublishAndCommitTogether"
               r"|Thunks<[^>]*>::PublishAndCommit|Store::PublishAndCommit"),
    ("loop", r"stem::beat::core::Runner::|WorkerPool"),
]
ORDER = [name for name, _ in STAGES] + ["other"]


def samples(lines):
    frames = []
    for line in lines:
        if not line.strip() or line[0] not in " \t":
            if frames:
                yield frames
            frames = []
            continue
        parts = line.strip().split(None, 1)
        if len(parts) == 2:
            frames.append(parts[1])
    if frames:
        yield frames


def stage_of(frames):
    for frame in frames:  # leaf first
        for name, pattern in STAGES:
            if re.search(pattern, frame):
                return name
    return "other"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--firings", type=int, required=True)
    parser.add_argument("--frequency", type=float, default=999)
    parser.add_argument("--under")
    args = parser.parse_args()
    counts = collections.Counter(
        stage_of(f) for f in samples(sys.stdin)
        if not args.under or any(re.search(args.under, x) for x in f))
    total = sum(counts.values())
    if not total:
        sys.exit("perf_stages: no samples on stdin")
    per_firing = 1e6 / args.frequency / args.firings
    print("| stage | share | CPU µs per firing |")
    print("|---|---|---|")
    for name in ORDER:
        print("| %s | %.0f %% | %.1f |" % (name, 100.0 * counts[name] / total,
                                          counts[name] * per_firing))
    print("| all | 100 %% | %.1f |" % (total * per_firing))


if __name__ == "__main__":
    main()
