#!/usr/bin/python3
"""Writes beat/specs/testdata/cron_croniter.tsv from Debian's python3-croniter.

Each line: our expression, the time zone, the start (RFC 3339 UTC), then the
next fire times croniter computes, as Unix seconds. cron_golden_test checks
that CronSchedule gives exactly these. Run with Debian's Python:

    /usr/bin/python3 tools/golden/make_cron_golden.py > beat/specs/testdata/cron_croniter.tsv

Cases are chosen where croniter and stem-beat mean the same thing. We differ
on purpose (docs/cron.md lists it) in: DST days (croniter has no gap/repeat
rules), a day field beginning with '*' such as '*/2' (croniter ORs it with a
restricted weekday; Vixie cron and we AND it), 'W' (croniter 1.3 lacks it)
and 'H' (croniter hashes differently). Spelling differs for two features:
croniter writes the last Friday 'L5' (we: '5L') and puts seconds last.
"""
import datetime
import sys
from zoneinfo import ZoneInfo

from croniter import croniter

# (our expression, croniter's spelling or None for the same, zone, start, count)
CASES = [
    ("*/5 * * * *", None, "UTC", "2026-01-01T00:00:00", 300),
    ("0 9 * * 1-5", None, "UTC", "2026-01-01T00:00:00", 300),
    ("15,45 */2 1-15 * *", None, "UTC", "2026-01-01T00:00:00", 300),
    ("0 0 29 2 *", None, "UTC", "2026-01-01T00:00:00", 12),
    ("5/15 * * * *", None, "UTC", "2026-03-01T10:00:00", 50),
    ("10-50/20 3-5 * * *", None, "UTC", "2026-03-01T10:00:00", 50),
    ("*/7 * * * *", None, "UTC", "2026-05-05T05:05:00", 100),
    ("0 12 * JAN,JUL MON", None, "UTC", "2026-01-01T00:00:00", 60),
    ("30 6 1,15 * *", None, "UTC", "2026-01-01T00:00:00", 60),
    ("0 0 13 * 5", None, "UTC", "2026-01-01T00:00:00", 120),
    ("0 0 1-7 * SUN", None, "UTC", "2026-01-01T00:00:00", 120),
    ("0 0 L * *", None, "UTC", "2026-01-01T00:00:00", 48),
    ("0 18 * * 5L", "0 18 * * L5", "UTC", "2026-01-01T00:00:00", 48),
    ("0 10 * * 1#2", None, "UTC", "2026-01-01T00:00:00", 48),
    ("0 10 * * 0#5", None, "UTC", "2026-01-01T00:00:00", 24),
    ("0 0 * * 7", None, "UTC", "2026-01-01T00:00:00", 60),
    ("0 0 31 * *", None, "UTC", "2026-01-01T00:00:00", 40),
    ("59 23 31 12 *", None, "UTC", "2026-01-01T00:00:00", 10),
    ("0 */6 * * *", None, "UTC", "2026-12-30T00:00:00", 40),
    ("@hourly", None, "UTC", "2026-01-01T00:30:00", 50),
    ("@weekly", None, "UTC", "2026-01-01T00:30:00", 50),
    ("@monthly", None, "UTC", "2026-01-01T00:30:00", 30),
    ("@yearly", None, "UTC", "2026-01-01T00:30:00", 5),
    ("*/20 * * * * *", "* * * * * */20", "UTC", "2026-01-01T00:00:00", 200),
    ("30 */20 * * * *", "*/20 * * * * 30", "UTC", "2026-01-01T00:00:00", 200),
    # Zones, away from their DST changes (inside one offset period).
    ("30 2 * * *", None, "America/New_York", "2026-04-01T00:00:00", 150),
    ("0 9 * * 1-5", None, "Europe/London", "2026-04-01T00:00:00", 100),
    ("*/15 8-17 * * *", None, "Europe/London", "2026-04-01T00:00:00", 300),
    ("0 7 * * *", None, "Australia/Lord_Howe", "2026-05-01T00:00:00", 100),
    ("45 23 * * *", None, "Asia/Kolkata", "2026-01-01T00:00:00", 200),
    ("0 0 1 * *", None, "Pacific/Chatham", "2026-05-01T00:00:00", 4),
]


def main():
    out = sys.stdout
    for ours, theirs, zone, start, count in CASES:
        tz = ZoneInfo(zone)
        base = datetime.datetime.fromisoformat(start).replace(
            tzinfo=datetime.timezone.utc).astimezone(tz)
        it = croniter(theirs or ours, base)
        times = [int(it.get_next(datetime.datetime).timestamp()) for _ in range(count)]
        out.write("\t".join([ours, zone, start + "Z", " ".join(map(str, times))]) + "\n")


if __name__ == "__main__":
    main()
