#!/usr/bin/env bash
# Fails when a C++ file is not clang-format'ed (Google style).
set -euo pipefail
cd "$(dirname "$0")/.."
bad=()
while IFS= read -r file; do
  clang-format --style=Google --dry-run -Werror "$file" >/dev/null 2>&1 || bad+=("$file")
done < <(git ls-files --cached --others --exclude-standard '*.h' '*.cc')
if [[ ${#bad[@]} -gt 0 ]]; then
  echo "check_format: not clang-formatted (run clang-format -i --style=Google):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
