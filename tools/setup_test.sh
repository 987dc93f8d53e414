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
# A copy whose lock is this machine's versions (CI's machine may have newer
# ones than the committed lock: setup.sh goes on with them, saying so).
cp "$root/tools/setup.sh" "$root/tools/refresh_package_lock.sh" "$work/"
bash "$work/refresh_package_lock.sh" >/dev/null
bash "$work/setup.sh" --check || fail "a lock of this machine's versions does not check"
# The committed lock lists exactly the packages setup.sh installs.
diff <(grep -v '^#' "$root/tools/packages.lock" | cut -d' ' -f1) \
  <(grep -v '^#' "$work/packages.lock" | cut -d' ' -f1) >&2 ||
  fail "tools/packages.lock does not list what tools/setup.sh installs (run tools/refresh_package_lock.sh)"

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
if ! bash "$root/tools/setup.sh" --check 2>"$work/err"; then
  echo "setup_test: note: this machine differs from tools/packages.lock:" >&2
  cat "$work/err" >&2
fi
echo "setup_test: tools/setup.sh names a package whose version differs from the"
echo "setup_test: lock, refuses it when strict, and refuses a package the lock lacks"
