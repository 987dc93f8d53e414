#!/usr/bin/env python3
"""Writes stem(1), a man page made of `stem --help` for every command.

    tools/manpage.py PATH/TO/stem > stem.1

The help text is the one the binary prints, so the page cannot drift from
it. No date is written, so the page is the same for the same binary.
"""
import os
import re
import subprocess
import sys


def help_text(stem, words):
    result = subprocess.run(
        [stem] + words + ["--help"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, COLUMNS="80"),
        check=True,
    )
    text = result.stdout.decode("utf-8")
    # The usage line names the binary as it was run; the page says `stem`.
    return re.sub(r"^Usage: \S+", "Usage: stem", text, count=1, flags=re.M)


def subcommands(text):
    names = []
    in_section = False
    for line in text.splitlines():
        if line.startswith("Subcommands:"):
            in_section = True
        elif in_section and re.match(r"^  \S", line):
            names.append(line.split()[0])
        elif in_section and line and not line.startswith(" "):
            in_section = False
    return names


def roff(text):
    lines = []
    for line in text.rstrip("\n").splitlines():
        line = line.replace("\\", "\\e")
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def main():
    stem = sys.argv[1]
    version = subprocess.run(
        [stem, "--version"], stdout=subprocess.PIPE, check=True
    ).stdout.decode().strip()
    out = [
        '.TH STEM 1 "" "%s" "User Commands"' % version,
        ".SH NAME",
        "stem \\- the Stem Beat periodic scheduler: schedules, Beat, plugins",
        ".SH SYNOPSIS",
        ".B stem",
        "[\\fIOPTIONS\\fR] \\fICOMMAND\\fR ...",
        ".SH DESCRIPTION",
        "Beat reads schedule entries (interval, cron, solar, clocked,",
        "calendar) from a schedule store, works out when each is due, and",
        "enqueues one task envelope per firing to a broker, exactly once",
        "across Beats and crashes. Stores, lock stores and brokers are plugins",
        "found by URL scheme.",
    ]
    queue = [[]]
    queue_first_level = []
    while queue:
        words = queue.pop(0)
        text = help_text(stem, words)
        if not words:
            out.append(".SH OPTIONS")
        else:
            if len(words) == 1 and words == queue_first_level[0]:
                out.append(".SH COMMANDS")
            out.append(".SS stem " + " ".join(words))
        out += [".nf", roff(text), ".fi"]
        children = [words + [name] for name in subcommands(text)]
        if not words:
            queue_first_level = children
        queue += children
    out += [
        ".SH ENVIRONMENT",
        ".TP",
        ".B STEM_SCHEDULE_STORE_URL, STEM_BROKER_URL, STEM_LOCK_STORE_URL",
        "The default store, broker and lock store URLs.",
        ".TP",
        ".B STEM_PLUGIN_PATH",
        "Colon-separated directories searched for plugins before the",
        "installed ones.",
        ".SH FILES",
        ".TP",
        ".I <prefix>/lib/stem-beat/plugins",
        "The plugins, found from where the binary is",
        "(libbeat_<kind>_<scheme>.so).",
        ".TP",
        ".I <prefix>/share/doc/stem-beat",
        "The user guide, operations guide, plugin guide and semantics, and an",
        "example systemd unit.",
        ".SH EXIT STATUS",
        "0 on success; 64 for a usage error; see the user guide for the rest.",
    ]
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
