#!/usr/bin/env bash
# Builds the .deb of stem-beat with dpkg-deb:
#
#   tools/package_deb.sh [OUTDIR]    -> OUTDIR/stem-beat_<version>_<arch>.deb
#                                       (OUTDIR: dist/)
#
# It installs the same layout as tools/install.sh with PREFIX=/usr (stem in
# /usr/bin, plugins in /usr/lib/stem-beat/plugins, found from the binary's
# place), plus Debian's copyright file. Depends lists the packages that hold
# the shared libraries stem and the plugins link, at the lowest versions
# whose symbols they use (dpkg-shlibdeps). Every file's time is the last
# commit's (SOURCE_DATE_EPOCH), owners are root, so the same build gives the
# same .deb.
set -euo pipefail
umask 022
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/dist}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"
bash "$root/tools/install.sh" "$stage/usr" >/dev/null

version="$("$stage/usr/bin/stem" --version | sed 's/^stem-beat //')"
arch="$(dpkg --print-architecture)"

# Depends: what Debian's dpkg-shlibdeps says the binaries need (each library's
# package, at the lowest version whose symbols they use).
shlibdeps="$(mktemp -d)"
mkdir -p "$shlibdeps/debian"
printf 'Source: stem-beat\n\nPackage: stem-beat\nArchitecture: any\n' \
  >"$shlibdeps/debian/control"
depends="$(cd "$shlibdeps" && dpkg-shlibdeps -O --ignore-missing-info \
  -l"$stage/usr/lib/stem-beat" "$stage/usr/bin/stem" \
  $(find "$stage/usr/lib/stem-beat" -type f -name '*.so') 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')"
rm -rf "$shlibdeps"
if [[ -z "$depends" ]]; then
  echo "package_deb: dpkg-shlibdeps found no dependencies (is dpkg-dev installed?)" >&2
  exit 1
fi

doc="$stage/usr/share/doc/stem-beat"
cat >"$doc/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: stem-beat
Comment: Built from the stem-beat repository with tools/package_deb.sh.

Files: *
Copyright: the stem-beat developers
License: see the stem-beat repository

Files: usr/bin/stem
Comment: embeds Chart.js 3.9.1 (the dashboard), from Debian's libjs-chart.js.
Copyright: 2014-2022 Chart.js Contributors
License: MIT
COPYRIGHT
chmod 0644 "$doc/copyright"

mkdir -p "$stage/DEBIAN"
cat >"$stage/DEBIAN/control" <<CONTROL
Package: stem-beat
Version: $version
Architecture: $arch
Maintainer: stem-beat developers <stem-beat@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: $depends
Recommends: redis-server | postgresql
Section: admin
Priority: optional
Description: periodic scheduler of the Stem task queue (Beat)
 stem-beat reads schedule entries (interval, cron, solar, clocked,
 calendar) from a schedule store, works out when each is due and enqueues
 one task envelope per firing to a broker, exactly once across Beats and
 crashes. Stores, lock stores and brokers are plugins found by URL scheme:
 memory, file, Redis and PostgreSQL come with it, in
 /usr/lib/stem-beat/plugins.
CONTROL

epoch="${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)}"
find "$stage" -exec touch -h -d "@$epoch" {} +
deb="$out/stem-beat_${version}_${arch}.deb"
SOURCE_DATE_EPOCH="$epoch" dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
