#!/usr/bin/python3
"""Writes beat/specs/testdata/solar_ephem.tsv from Debian's python3-ephem.

Each line: event, latitude, longitude, then every time (Unix seconds) that
the event happens during 2026 at that place, as ephem computes it. The sun's
centre is used with refraction off (pressure 0) and the horizons of
docs/semantics.md: dawn/dusk -18/-12/-6 degrees, sunrise/sunset -0.833 degrees (the usual
34' refraction + 16' radius, which is what Celery's upper-limb '-0:34' with
refraction folded in means); solar noon is the transit. solar_golden_test
requires SolarSchedule to agree within 60 seconds. Run:

    /usr/bin/python3 tools/golden/make_solar_golden.py > beat/specs/testdata/solar_ephem.tsv
"""
import math
import sys

import ephem

EVENTS = [
    ("dawn_astronomical", "-18", "rising"),
    ("dawn_nautical", "-12", "rising"),
    ("dawn_civil", "-6", "rising"),
    ("sunrise", "-0.833", "rising"),
    ("solar_noon", "0", "transit"),
    ("sunset", "-0.833", "setting"),
    ("dusk_civil", "-6", "setting"),
    ("dusk_nautical", "-12", "setting"),
    ("dusk_astronomical", "-18", "setting"),
]
PLACES = [
    (-65.0, -64.0),   # Antarctic peninsula
    (-45.0, 170.5),   # Dunedin
    (-33.87, 151.21),  # Sydney
    (0.0, 0.0),
    (19.43, -99.13),  # Mexico City
    (40.71, -74.01),  # New York
    (51.5, -0.12),    # London
    (60.17, 24.94),   # Helsinki
    (65.0, -18.0),    # northern Iceland
]
START = ephem.Date("2026/01/01 00:00:00")
END = ephem.Date("2027/01/01 00:00:00")
EPOCH = ephem.Date("1970/01/01 00:00:00")


def unix(date):
    return (float(date) - float(EPOCH)) * 86400.0


def events_for(latitude, longitude, horizon, kind):
    observer = ephem.Observer()
    observer.lat = str(latitude)
    observer.lon = str(longitude)
    observer.elevation = 0
    observer.pressure = 0
    observer.horizon = horizon
    sun = ephem.Sun()
    found = []
    t = START
    while t < END:
        observer.date = t
        try:
            if kind == "rising":
                when = observer.next_rising(sun, use_center=True)
            elif kind == "setting":
                when = observer.next_setting(sun, use_center=True)
            else:
                when = observer.next_transit(sun)
        except (ephem.AlwaysUpError, ephem.NeverUpError):
            t = ephem.Date(t + ephem.hour)
            continue
        if when >= END:
            break
        found.append(unix(when))
        t = ephem.Date(when + ephem.minute)
    return found


def main():
    for name, horizon, kind in EVENTS:
        for latitude, longitude in PLACES:
            times = events_for(latitude, longitude, horizon, kind)
            sys.stdout.write("%s\t%s\t%s\t%s\n" % (
                name, latitude, longitude, " ".join("%.0f" % t for t in times)))


if __name__ == "__main__":
    main()
