#!/usr/bin/env bash
# Installs stem-beat under PREFIX, without Bazel at run time:
#
#   PREFIX/bin/stem
#   PREFIX/lib/stem-beat/lib*_proto.so        (generated code stem and the
#                                               plugins share)
#   PREFIX/lib/stem-beat/plugins/libbeat_*.so  (found from stem's own place)
#   PREFIX/share/man/man1/stem.1.gz            (every command's --help)
#   PREFIX/share/doc/stem-beat/                (README, docs/, examples:
#                                               a systemd unit, schedules)
#
#   tools/install.sh PREFIX                 builds with -c opt, then installs
#   bazel run -c opt //:install -- PREFIX   the same, through Bazel
#
# Each file is written beside its final name and renamed over it, so a Beat
# running from PREFIX keeps the plugin it has open, and a failed install
# leaves the old file whole. Files are 0755/0644; directories are created
# 0755, and lib/stem-beat and its plugins/ are kept so (stem refuses plugins
# others may write). The search path of stem and the plugins is rewritten
# (chrpath) to look inside PREFIX only. Nothing outside PREFIX is touched.
set -euo pipefail
umask 022

usage() {
  echo "usage: tools/install.sh PREFIX   (or: bazel run -c opt //:install -- PREFIX)" >&2
  exit 64
}
[[ $# -eq 1 && -n "$1" && "$1" != -* ]] || usage
prefix="$1"

# Run by `bazel run //:install`: the files are in this script's runfiles.
runfiles=""
for candidate in "${RUNFILES_DIR:-}" "$0.runfiles"; do
  if [[ -n "$candidate" && -f "$candidate/stem_beat/beat/cli/stem" ]]; then
    runfiles="$candidate/stem_beat"
    break
  fi
done

if [[ -z "$runfiles" ]]; then
  # Run from a checkout: build, then run the built installer.
  source_dir="$(cd "$(dirname "$0")/.." && pwd)"
  case "$prefix" in /*) ;; *) prefix="$PWD/$prefix" ;; esac
  cd "$source_dir"
  bazel build -c opt //:install >/dev/null 2>&1 || bazel build -c opt //:install
  exec "$source_dir/bazel-bin/install" "$prefix"
fi

# A relative PREFIX is where the user ran `bazel run`, not the runfiles.
case "$prefix" in
  /*) ;;
  *) prefix="${BUILD_WORKING_DIRECTORY:-$PWD}/$prefix" ;;
esac

# The file being written, removed if the install stops half-way.
temporary=""
trap 'if [[ -n "$temporary" ]]; then rm -f "$temporary"; fi' EXIT
trap 'exit 130' INT TERM

# put SOURCE DEST MODE [RUNPATH]: copy beside DEST, then rename over it (a
# directory in DEST's place is an error, never written into). RUNPATH
# replaces the search path Bazel linked into a binary or plugin, which
# names its build tree (../../_solib_k8/...): installed, it must look
# inside the install only.
put() {
  local source="$1" dest="$2" mode="$3" runpath="${4:-}"
  local dir
  dir="$(dirname "$dest")"
  mkdir -p -m 0755 "$dir"
  # What an install killed before its rename left behind.
  rm -f "$dir/.$(basename "$dest").install."*
  temporary="$dir/.$(basename "$dest").install.$$"
  cp -L "$source" "$temporary"
  chmod "$mode" "$temporary"
  if [[ -n "$runpath" ]]; then
    chrpath -r "$runpath" "$temporary" >/dev/null
  fi
  mv -Tf "$temporary" "$dest"
  temporary=""
}

# own_directory DIR: a directory only stem-beat's files live in (its
# libraries, its plugins), which stem trusts: 0755, and owned by root or
# whoever installs. A directory others may write is made 0755, saying so.
own_directory() {
  local dir="$1"
  mkdir -p -m 0755 "$dir"
  local owner
  owner="$(stat -c %u "$dir")"
  if [[ "$owner" != 0 && "$owner" != "$(id -u)" ]]; then
    echo "tools/install.sh: $dir belongs to user $owner: stem would refuse the plugins in it; install elsewhere or change its owner" >&2
    exit 1
  fi
  if [[ -n "$(find "$dir" -maxdepth 0 -perm /022)" ]]; then
    echo "tools/install.sh: $dir was writable by others ($(stat -c %a "$dir")): made 0755" >&2
    chmod go-w "$dir"
  fi
}

lib="$prefix/lib/stem-beat"
doc="$prefix/share/doc/stem-beat"
cd "$runfiles"
own_directory "$lib"
own_directory "$lib/plugins"

put beat/cli/stem "$prefix/bin/stem" 0755 '$ORIGIN/../lib/stem-beat'
for library in beat/core/model/libschedule_proto.so \
  beat/core/codec/libapply_shape_proto.so; do
  put "$library" "$lib/$(basename "$library")" 0644
done
# An alias scheme's file (rediss, postgresql) is a copy of its plugin in the
# build; installed, it is a symbolic link to the plugin (shortest name first:
# redis before rediss and redis+unix).
count=0
declare -A installed_as=()
while IFS= read -r plugin; do
  name="$(basename "$plugin")"
  digest="$(sha256sum "$plugin" | cut -d' ' -f1)"
  if [[ -n "${installed_as[$digest]:-}" ]]; then
    rm -f "$lib/plugins/.$name.install."*
    temporary="$lib/plugins/.$name.install.$$"
    ln -s "${installed_as[$digest]}" "$temporary"
    mv -Tf "$temporary" "$lib/plugins/$name"
    temporary=""
  else
    put "$plugin" "$lib/plugins/$name" 0644 '$ORIGIN/..'
    installed_as[$digest]="$name"
    count=$((count + 1))
  fi
done < <(for file in beat/stores/*/libbeat_*.so beat/locks/*/libbeat_*.so \
  beat/brokers/*/libbeat_*.so; do
  echo "${#file} $file"
done | sort -n -k1,1 -k2 | cut -d' ' -f2-)

# The man page, from the installed binary's own --help.
man="$(mktemp)"
trap 'if [[ -n "$temporary" ]]; then rm -f "$temporary"; fi; rm -f "$man" "$man.gz"' EXIT
python3 tools/manpage.py "$prefix/bin/stem" >"$man"
gzip -n -9 -c "$man" >"$man.gz"
put "$man.gz" "$prefix/share/man/man1/stem.1.gz" 0644

put README.md "$doc/README.md" 0644
for file in docs/*.md; do put "$file" "$doc/$file" 0644; done
put examples/systemd/stem-beat.service "$doc/examples/stem-beat.service" 0644
for file in examples/schedules.*; do
  put "$file" "$doc/$file" 0644
done

echo "installed stem-beat $("$prefix/bin/stem" --version | sed 's/^stem-beat //') in $prefix:"
echo "  $prefix/bin/stem, $count plugins in $lib/plugins,"
echo "  man stem ($prefix/share/man/man1/stem.1.gz), docs in $doc"
