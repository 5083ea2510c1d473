#!/usr/bin/env bash
# Time a first training and a retraining after 20 new samples, the way a
# user meets them: rps_picam's 300 photos, fresh state directory (nothing
# cached), `alphad train` with the defaults, then 20 more photos and
# `alphad train` again (their embeddings are the only ones computed).
# Prints each version's per-phase wall and CPU time (model show) for each
# engine given (default: xnnpack when built in, and native).
#
#   scripts/train-time.sh [ENGINE...]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/alphad}
SHARED=$(cd "${ALPHAD_SHARED:-../shared}" 2>/dev/null && pwd) || { echo "train-time: shared data not found (set ALPHAD_SHARED)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "train-time: $BIN not built (make build)" >&2; exit 1; }
engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(xnnpack native)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# 300 photos: the first 280 (by name) now, the last 20 for the retraining.
mkdir -p "$tmp/first" "$tmp/later"
for c in "$SHARED"/datasets/rps_picam/*/; do
  name=$(basename "$c")
  mkdir -p "$tmp/first/$name" "$tmp/later/$name"
done
i=0
while IFS= read -r f; do
  name=$(basename "$(dirname "$f")")
  if [ $((i % 15)) -eq 14 ]; then cp "$f" "$tmp/later/$name/"; else cp "$f" "$tmp/first/$name/"; fi
  i=$((i + 1))
done < <(find "$SHARED/datasets/rps_picam" -mindepth 2 -type f \( -name '*.jpg' -o -name '*.png' -o -name '*.jpeg' \) | sort)
for eng in "${engines[@]}"; do
  s=$tmp/state-$eng
  "$BIN" --state-dir "$s" model pull --mirror "$SHARED/models/mobilenet_v2_1.0_224_quant.tflite" >/dev/null 2>&1
  "$BIN" --state-dir "$s" dataset import "$tmp/first" >/dev/null 2>&1
  echo "== $eng: first training, $(find "$tmp/first" -type f | wc -l) samples, nothing cached"
  /usr/bin/time -f "process: %e s wall, %U s user + %S s sys" "$BIN" --state-dir "$s" train --engine "$eng" 2>&1 >/dev/null | tail -1
  "$BIN" --state-dir "$s" model show | grep -E '^(timings|cpu) '
  "$BIN" --state-dir "$s" dataset import "$tmp/later" >/dev/null 2>&1
  echo "== $eng: retraining after $(find "$tmp/later" -type f | wc -l) new samples"
  /usr/bin/time -f "process: %e s wall, %U s user + %S s sys" "$BIN" --state-dir "$s" train --engine "$eng" 2>&1 >/dev/null | tail -1
  "$BIN" --state-dir "$s" model show | grep -E '^(timings|cpu) '
done
echo "(wall times on a shared machine are noisy: compare the CPU times; load average $(cut -d' ' -f1-3 /proc/loadavg))"
