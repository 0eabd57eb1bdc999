#!/usr/bin/env bash
# N pytest collections started at once on a fresh clone and venv, as ./scripts/test's steps
# start their workers side by side: cold (no bytecode, no rewritten test module), or after one
# warming collection (`warm`), as ./scripts/test does before the steps. Prints each process's
# CPU (user+system) and wall, and the busy core-seconds from /proc/stat.
#
#   bash bench/cold_collections.sh /tmp/cold-a cold 9; bash bench/cold_collections.sh /tmp/cold-b warm 9
set -euo pipefail
DIR="$1"; MODE="$2"; N="${3:-6}"
SOURCE="$(cd "$(dirname "$0")/.." && pwd)"
busy() { awk '/^cpu /{printf "%.1f", ($2+$3+$4+$7+$8+$9)/100}' /proc/stat; }
rm -rf "$DIR" && git clone -q "$SOURCE" "$DIR" && cd "$DIR"
python3.11 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check uv
.venv/bin/python -m uv pip install -q --python .venv/bin/python -e '.[dev]'
unset PYTHONDONTWRITEBYTECODE
PYTEST=(.venv/bin/python -m pytest -q -p no:cacheprovider -n 0 --collect-only)
before="$(busy)"; start="$(date +%s.%N)"
if [ "$MODE" = warm ]; then
    /usr/bin/time -o warming.time -f "warming collection: %U+%S CPU-s, %e s" \
        "${PYTEST[@]}" >/dev/null 2>&1 || true
fi
for i in $(seq 1 "$N"); do
    /usr/bin/time -o "collect-$i.time" -f "collection $i: %U+%S CPU-s, %e s" \
        "${PYTEST[@]}" -m "not build and not process" >/dev/null 2>&1 &
done
wait
cat warming.time collect-*.time 2>/dev/null || true
echo "$MODE, $N at once: $(echo "$(date +%s.%N) - $start" | bc) s, $(echo "$(busy) - $before" | bc) busy core-s"
