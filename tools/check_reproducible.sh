#!/usr/bin/env bash
# Checks that the build is reproducible: `-c opt //beat/cli:stem //:plugins`
# built twice gives byte-identical files (stem, every plugin, the
# generated-code libraries), the second time from a copy of the source at
# another path, with another Bazel output base, from clean. CI runs it.
#
#   tools/check_reproducible.sh              this checkout's -c opt build
#                                            (built if need be) against one
#                                            clean build elsewhere
#   tools/check_reproducible.sh --two-clean  two clean builds elsewhere
#   ... --keep                               keep the work directory
#
# What makes it hold: Bazel compiles with paths relative to its execroot and
# redacts __DATE__/__TIME__/__TIMESTAMP__; -c opt writes no debug paths; the
# build id is a hash of the content; tools/embed.py and the genrules write
# no time or path. A difference is reported file by file.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
keep=0
two_clean=0
for argument in "$@"; do
  case "$argument" in
    --keep) keep=1 ;;
    --two-clean) two_clean=1 ;;
    *)
      echo "usage: tools/check_reproducible.sh [--two-clean] [--keep]" >&2
      exit 64
      ;;
  esac
done
work="$(mktemp -d /tmp/stem-beat-repro.XXXXXX)"
cleanup() {
  for base in "$work"/output-*; do
    [[ -d "$base" ]] || continue
    (cd "$work" && bazel --output_base="$base" shutdown >/dev/null 2>&1) || true
  done
  if [[ $keep -eq 0 ]]; then
    chmod -R u+w "$work" 2>/dev/null || true
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# digests NAME: the built files' digests, from bazel-bin, in $work/NAME.sha256.
digests() {
  find -L . \( -path ./beat/cli/stem -o -name 'libbeat_*.so' -o \
    -name 'lib*_proto.so' \) -type f -not -path '*runfiles*' |
    LC_ALL=C sort | xargs sha256sum >"$work/$1.sha256"
}

# build NAME SOURCE_DIR: a clean build of a copy of the tracked files.
build() {
  local name="$1" source="$2"
  mkdir -p "$source"
  (cd "$root" && git ls-files -z --cached | grep -zv '^examples/.*/bazel-' |
    xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$source"
  (
    cd "$source"
    bazel --output_base="$work/output-$name" build -c opt \
      //beat/cli:stem //:plugins >"$work/$name.log" 2>&1 ||
      {
        cat "$work/$name.log" >&2
        exit 1
      }
    cd bazel-bin
    digests "$name"
  )
  ln -s "$source/bazel-bin" "$work/$name-bin"
}

if [[ $two_clean -eq 1 ]]; then
  echo "check_reproducible: clean build 1 of 2 (in $work/a/stem-beat)"
  build a "$work/a/stem-beat"
else
  echo "check_reproducible: this checkout's -c opt build ($root)"
  (cd "$root" && { bazel build -c opt //beat/cli:stem //:plugins >"$work/a.log" 2>&1 ||
    { cat "$work/a.log" >&2; exit 1; }; } && cd bazel-bin && digests a)
  ln -s "$root/bazel-bin" "$work/a-bin"
fi
echo "check_reproducible: a clean build in $work/second/copy/of/src"
build b "$work/second/copy/of/src"

count=$(wc -l <"$work/a.sha256")
if [[ $count -lt 20 ]]; then
  echo "check_reproducible: FAIL: only $count files built" >&2
  exit 1
fi
if ! diff -u "$work/a.sha256" "$work/b.sha256" >"$work/diff"; then
  echo "check_reproducible: FAIL: the two builds differ:" >&2
  cat "$work/diff" >&2
  while read -r _ file; do
    if ! cmp -s "$work/a-bin/$file" "$work/b-bin/$file"; then
      cmp "$work/a-bin/$file" "$work/b-bin/$file" >&2 || true
    fi
  done <"$work/a.sha256"
  exit 1
fi
echo "check_reproducible: $count files byte-identical across two -c opt builds"
echo "check_reproducible: from different paths: stem, plugins and libraries"
