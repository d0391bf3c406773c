#!/usr/bin/env bash
# Measures pack and hydrate on the shared corpora beside zstd -3 of the same file, and what
# small edits add. Usage: bench/pack_corpora.sh [BUILD_DIR] (default build/rel, Release).
# Figures are wall-clock seconds on this machine, single runs: compare them as ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/rel}
pagable="$build/cli/pagable"
corpora=${PAGABLE_SHARED_DIR:-../shared}/corpora
[ -x "$pagable" ] || { echo "build first: cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release -DPAGABLE_BUILD_TESTS=OFF && cmake --build $build" >&2; exit 2; }
[ -d "$corpora" ] || { echo "skipped: $corpora absent" >&2; exit 0; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
printf '%-28s %10s %10s %6s %8s %8s %9s %9s\n' file bytes zstd-3 ratio pack_s hyd_s at_ms at_blobs
for name in github-api.openapi mdn-browser-compat-data github-webhooks.openapi; do
  f="$corpora/$name.json"
  [ -f "$f" ] || continue
  a="$work/$name.pagable"
  zbytes=$(zstd -3 -q -c "$f" | wc -c)
  pack_s=$(secs "$pagable" pack "$a" "$f" --name doc)
  abytes=$(stat -c %s "$a")
  hyd_s=$(secs "$pagable" hydrate "$a" doc)
  case $name in
    mdn*) at=/browsers/firefox/releases/1.5 ;;
    *) at=/info ;;
  esac
  at_s=$(secs "$pagable" hydrate "$a" doc --at "$at")
  blobs=$("$pagable" hydrate "$a" doc --at "$at" --stats 2>&1 >/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["blobs_read"])')
  printf '%-28s %10d %10d %6.2f %8.2f %8.2f %9.1f %9d\n' "$name" "$abytes" "$zbytes" \
    "$(echo "$abytes / $zbytes" | bc -l)" "$pack_s" "$hyd_s" "$(echo "$at_s * 1000" | bc -l)" "$blobs"
done
# One deep string edit in the browser-compat data: what the second version adds.
f="$corpora/mdn-browser-compat-data.json"
if [ -f "$f" ]; then
  python3 - "$f" "$work/edited.json" <<'PY'
import sys
t = open(sys.argv[1]).read()
n = '"version_added":"'
i = t.rfind(n, 0, len(t) * 2 // 3)
open(sys.argv[2], "w").write(t[:i + len(n)] + "edited " + t[i + len(n):])
PY
  a="$work/edit.pagable"
  "$pagable" pack "$a" "$f" --name v1 >/dev/null
  echo "mdn, one string edited: $("$pagable" --json pack "$a" "$work/edited.json" --name v2 | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["new_nodes"], "new nodes,", r["bytes_added"], "bytes added")')"
fi
