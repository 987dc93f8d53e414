#!/usr/bin/env bash
# Installs stem-beat without Bazel at run time and uses it as an operator
# would (CI runs it):
# 1. tools/install.sh PREFIX; the installed stem lists its plugins, applies
#    a schedule file and fires with beat --once, with no Bazel runfiles and
#    no STEM_PLUGIN_PATH; then the whole tree is moved and still finds its
#    plugins (from the binary's own place, not from a path built in);
# 2. tools/package_deb.sh; dpkg -i of the .deb (as root), stem plugins list
#    and stem beat --once from /usr/bin/stem, then dpkg -r leaves nothing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fail() {
  echo "check_install: FAIL: $*" >&2
  exit 1
}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# use STEM DIR: what an operator does first, in an empty directory, with a
# clean environment (no runfiles, no plugin path).
use() {
  local stem="$1" dir="$2"
  mkdir -p "$dir"
  (
    cd "$dir"
    run() { env -i PATH=/usr/bin:/bin HOME="$dir" "$stem" "$@"; }
    run --version | grep -q '^stem-beat [0-9]' || fail "$stem --version"
    run plugins list >plugins.out 2>&1 || fail "plugins list: $(cat plugins.out)"
    for kind_scheme in "store file" "store memory" "store redis" \
      "store postgres" "lock redis" "lock postgres" "broker log" \
      "broker file" "broker redis" "broker postgres"; do
      set -- $kind_scheme
      grep -q "^$1 .*[ ,]$2[ ,]" plugins.out ||
        grep -q "^$1  *$2 " plugins.out ||
        fail "$stem: no $1 plugin for $2: $(cat plugins.out)"
    done
    # Each row once (an alias is a link to its plugin, listed once).
    [[ $(grep -c '^store  *redis,' plugins.out) -eq 1 ]] ||
      fail "the redis store is listed more than once: $(cat plugins.out)"
    printf 'schedules:\n  - id: tick\n    task: demo.tick\n    spec: every:1s\n' >s.yaml
    run schedule apply -f s.yaml --yes >apply.out 2>&1 || fail "apply: $(cat apply.out)"
    sleep 1.2
    run beat --once >beat.out 2>beat.err || fail "beat --once: $(cat beat.err)"
    grep -q '"name":"demo.tick"' beat.out || fail "no envelope: $(cat beat.out)"
    grep -q "1 dispatched" beat.err || fail "beat --once said: $(cat beat.err)"
  )
}

echo "check_install: tools/install.sh $work/prefix"
bash "$root/tools/install.sh" "$work/prefix" >/dev/null
prefix="$work/prefix"
for file in bin/stem lib/stem-beat/libschedule_proto.so \
  lib/stem-beat/plugins/libbeat_store_file.so share/man/man1/stem.1.gz \
  share/doc/stem-beat/docs/user-guide.md \
  share/doc/stem-beat/examples/stem-beat.service; do
  [[ -f "$prefix/$file" ]] || fail "$prefix/$file is missing"
done
zcat "$prefix/share/man/man1/stem.1.gz" >"$work/stem.1"
grep -q '^\.SS stem schedule apply$' "$work/stem.1" ||
  fail "the man page lacks stem schedule apply"
[[ "$(stat -c %a "$prefix/bin/stem")" == 755 ]] || fail "stem is not 0755"
# The installed unit is the one docs/OPERATIONS.md explains.
sed -n '/^\[Unit\]/,/^```/p' "$root/docs/OPERATIONS.md" | sed '$d' >"$work/unit.doc"
sed -n '/^\[Unit\]/,$p' "$prefix/share/doc/stem-beat/examples/stem-beat.service" >"$work/unit.installed"
diff -u "$work/unit.doc" "$work/unit.installed" >&2 ||
  fail "examples/systemd/stem-beat.service differs from the unit in docs/OPERATIONS.md"
# Installed, stem and the plugins search for libraries inside the install
# only (Bazel linked in paths of its build tree, ../../_solib_k8/..., which
# outside it could hold anyone's library).
runpath() { readelf -d "$1" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p'; }
[[ "$(runpath "$prefix/bin/stem")" == '$ORIGIN/../lib/stem-beat' ]] ||
  fail "bin/stem searches $(runpath "$prefix/bin/stem")"
for plugin in "$prefix"/lib/stem-beat/plugins/*.so; do
  [[ -L "$plugin" ]] && continue
  [[ "$(runpath "$plugin")" == '$ORIGIN/..' ]] ||
    fail "$plugin searches $(runpath "$plugin")"
done
for library in "$prefix"/lib/stem-beat/*.so; do
  [[ -z "$(runpath "$library")" ]] || fail "$library searches $(runpath "$library")"
done
use "$prefix/bin/stem" "$work/run1"

# Hostile prefixes: a directory where a plugin goes is an error, never
# written into; a plugins directory others may write is made 0755; an
# install killed half-way leaves no temporary file after the next one.
mkdir -p "$work/hostile/lib/stem-beat/plugins/libbeat_store_file.so"
if bash "$root/tools/install.sh" "$work/hostile" >/dev/null 2>&1; then
  fail "install wrote into a directory planted where a plugin goes"
fi
mkdir -p "$work/open/lib/stem-beat/plugins"
chmod 0777 "$work/open/lib/stem-beat/plugins"
touch "$work/open/lib/stem-beat/plugins/.libbeat_store_file.so.install.1"
bash "$root/tools/install.sh" "$work/open" >/dev/null 2>"$work/open.err" ||
  fail "install into a prefix others could write: $(cat "$work/open.err")"
grep -q "was writable by others (777): made 0755" "$work/open.err" ||
  fail "install did not say it fixed the plugins directory: $(cat "$work/open.err")"
[[ "$(stat -c %a "$work/open/lib/stem-beat/plugins")" == 755 ]] ||
  fail "the plugins directory is still $(stat -c %a "$work/open/lib/stem-beat/plugins")"
[[ -z "$(find "$work/open" -name '.*.install.*')" ]] ||
  fail "temporary files left: $(find "$work/open" -name '.*.install.*')"
"$work/open/bin/stem" plugins list >/dev/null || fail "stem refuses the fixed prefix"
# Moved elsewhere, it finds its plugins where it now is.
mv "$prefix" "$work/moved"
use "$work/moved/bin/stem" "$work/run2"
env -i "$work/moved/bin/stem" plugins list >"$work/moved.out"
grep -q "$work/moved/lib/stem-beat/plugins/" "$work/moved.out" ||
  fail "the moved stem does not use the plugins beside it"
# A second install over the first (an upgrade) is fine.
bash "$root/tools/install.sh" "$work/moved" >/dev/null
use "$work/moved/bin/stem" "$work/run3"

echo "check_install: tools/package_deb.sh"
deb="$(bash "$root/tools/package_deb.sh" "$work/dist")"
# The same build packaged twice gives the same bytes (file times are the
# last commit's, owners root).
cmp "$deb" "$(bash "$root/tools/package_deb.sh" "$work/dist-again")" ||
  fail "two .debs of one build differ"
dpkg-deb -c "$deb" >"$work/contents"
grep -q ' ./usr/bin/stem$' "$work/contents" || fail "the .deb has no /usr/bin/stem"
grep -q ' ./usr/lib/stem-beat/plugins/libbeat_store_redis.so$' "$work/contents" ||
  fail "the .deb has no redis store plugin"
if [[ $(id -u) -ne 0 ]]; then
  echo "check_install: not root: dpkg -i of $deb left out"
  exit 0
fi
if dpkg-query -W -f='${Status}' stem-beat 2>/dev/null | grep -q "install ok"; then
  fail "stem-beat is installed already: remove it first (dpkg -r stem-beat)"
fi
dpkg -i "$deb" >"$work/dpkg.out" 2>&1 || fail "dpkg -i: $(cat "$work/dpkg.out")"
trap 'dpkg -r stem-beat >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
use /usr/bin/stem "$work/run4"
/usr/bin/stem plugins list >"$work/usr.out"
grep -q " /usr/lib/stem-beat/plugins/libbeat_store_file.so$" "$work/usr.out" ||
  fail "/usr/bin/stem does not use /usr/lib/stem-beat/plugins"
dpkg -r stem-beat >/dev/null 2>&1 || fail "dpkg -r stem-beat"
[[ ! -e /usr/bin/stem && ! -e /usr/lib/stem-beat ]] ||
  fail "dpkg -r left /usr/bin/stem or /usr/lib/stem-beat behind"
echo "check_install: installed, moved, upgraded and packaged: stem finds its"
echo "check_install: plugins from its own place, applies and fires; the .deb"
echo "check_install: installs, works and removes cleanly ($(basename "$deb"))"
