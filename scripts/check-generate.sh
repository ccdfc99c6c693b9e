#!/usr/bin/env bash
# Regenerates everything go generate produces in a scratch copy of the tree
# and fails if it differs from what is committed here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"
git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "$tmp" 2>/dev/null || true
# Drop every generated file in the copy so stale outputs cannot survive.
find "$tmp" \( -name '*.gen.go' -o -name '*.gen_test.go' \) -delete
(cd "$tmp" && go generate ./...)
status=0
while IFS= read -r f; do
  rel=${f#"$tmp"/}
  if ! cmp -s "$f" "$root/$rel"; then
    echo "check-generate: $rel differs from a fresh generation (run 'make generate' and commit)" >&2
    status=1
  fi
done < <(find "$tmp" \( -name '*.gen.go' -o -name '*.gen_test.go' \))
while IFS= read -r f; do
  [ -f "$tmp/$f" ] || { echo "check-generate: $f is no longer generated; remove it" >&2; status=1; }
done < <(git ls-files '*.gen.go' '*.gen_test.go')
[ $status -eq 0 ] && echo "check-generate: generated code is current"
exit $status
