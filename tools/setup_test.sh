#!/usr/bin/env bash
# Checks tools/setup.sh's lock handling on a copy (installs nothing): a
# package at another version than the lock's is named with both versions
# (an error under --check and STEM_BEAT_STRICT_PACKAGES=1), and a package
# missing from the lock is an error naming it. CI runs it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() {
  echo "setup_test: FAIL: $*" >&2
  exit 1
}
cp "$root/tools/setup.sh" "$root/tools/packages.lock" "$work/"
bash "$work/setup.sh" --check || fail "the lock does not match this machine"

installed=$(dpkg-query -W -f='${Version}' curl)
sed -i "s/^curl .*/curl 0.0.1-fake/" "$work/packages.lock"
if bash "$work/setup.sh" --check 2>"$work/err"; then fail "--check passed a differing version"; fi
grep -qF "curl is $installed here; tools/packages.lock pins 0.0.1-fake" "$work/err" ||
  fail "the difference was not named: $(cat "$work/err")"
if STEM_BEAT_STRICT_PACKAGES=1 bash "$work/setup.sh" 2>"$work/err"; then
  fail "strict mode took a differing version"
fi
grep -q "refusing other versions" "$work/err" || fail "strict said: $(cat "$work/err")"
bash "$work/setup.sh" 2>"$work/err" || fail "a differing version stopped the default mode"
grep -qF "curl is $installed here" "$work/err" || fail "default mode said nothing"

sed -i "/^curl /d" "$work/packages.lock"
if bash "$work/setup.sh" 2>"$work/err"; then fail "a package missing from the lock passed"; fi
grep -q "curl is not in tools/packages.lock" "$work/err" || fail "said: $(cat "$work/err")"
bash "$root/tools/refresh_package_lock.sh" --check >/dev/null ||
  fail "tools/packages.lock is not what tools/refresh_package_lock.sh writes"
echo "setup_test: tools/setup.sh names a package whose version differs from the"
echo "setup_test: lock, refuses it when strict, and refuses a package the lock lacks"
