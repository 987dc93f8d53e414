#!/usr/bin/env bash
# Rewrites tools/packages.lock: each package tools/setup.sh installs, at the
# version installed on this machine (run tools/setup.sh first; a package not
# installed is an error). Review the diff, build, test, commit.
#
#   tools/refresh_package_lock.sh           rewrite the lock
#   tools/refresh_package_lock.sh --check   exit 1 if the lock would change
set -euo pipefail
cd "$(dirname "$0")"
STEM_BEAT_SETUP_LIST_ONLY=1
# shellcheck source=setup.sh
source ./setup.sh
lock="$(mktemp)"
trap 'rm -f "$lock"' EXIT
{
  echo "# The exact Debian package versions tools/setup.sh installs"
  echo "# ($(. /etc/os-release && echo "$PRETTY_NAME"), $(dpkg --print-architecture))."
  echo "# Written by tools/refresh_package_lock.sh; do not edit by hand."
  for package in $(printf '%s\n' "${PACKAGES[@]}" | LC_ALL=C sort -u); do
    version=$(dpkg-query -W -f='${Version}' "$package" 2>/dev/null || true)
    if [[ -z "$version" ]]; then
      echo "refresh_package_lock: $package is not installed (run tools/setup.sh)" >&2
      exit 1
    fi
    echo "$package $version"
  done
} >"$lock"
if [[ "${1:-}" == "--check" ]]; then
  diff -u packages.lock "$lock"
  exit
fi
cp "$lock" packages.lock
echo "refresh_package_lock: wrote tools/packages.lock ($(grep -vc '^#' packages.lock) packages)"
