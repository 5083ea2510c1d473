#!/usr/bin/env bash
# Time training the way a user meets it, on rps_picam (300 photos):
#   first:   a fresh state directory (nothing cached) with all 300 photos,
#            `alphad train` with the defaults;
#   retrain: a state directory trained on 280 of them, then 20 more photos
#            and `alphad train` again (their embeddings are the only ones
#            computed).
# For each engine given (default: every engine compiled in) it prints the
# process's wall and CPU time and the training's phases (wall/CPU:
# embedding, the heads' validated runs, their refits, calibration, saving
# the version). On a shared machine run it under the CPU lock:
#
#   flock /tmp/alphad-cpu.lock scripts/train-time.sh [ENGINE...]
#   SUMMARY=1 scripts/train-time.sh xnnpack     (one line per engine: make eval)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/alphad}
SHARED=$(cd "${ALPHAD_SHARED:-../shared}" 2>/dev/null && pwd) || { echo "train-time: shared data not found (set ALPHAD_SHARED)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "train-time: $BIN not built (make build)" >&2; exit 1; }
engines=("$@")
if [ ${#engines[@]} -eq 0 ]; then
  read -r -a engines <<<"$("$BIN" version | sed -n 's/^engines: //p' | tr -d ,)"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# 300 photos: all of them for the first training; the first 280 (every
# 15th left out, by name) and then those 20 for the retraining.
for c in "$SHARED"/datasets/rps_picam/*/; do
  name=$(basename "$c")
  mkdir -p "$tmp/all/$name" "$tmp/first/$name" "$tmp/later/$name"
done
i=0
while IFS= read -r f; do
  name=$(basename "$(dirname "$f")")
  cp "$f" "$tmp/all/$name/"
  if [ $((i % 15)) -eq 14 ]; then cp "$f" "$tmp/later/$name/"; else cp "$f" "$tmp/first/$name/"; fi
  i=$((i + 1))
done < <(find "$SHARED/datasets/rps_picam" -mindepth 2 -type f \( -name '*.jpg' -o -name '*.png' -o -name '*.jpeg' \) | sort)
count() { find "$1" -type f | wc -l; }

state() { # dir images: a state directory with the backbone and the images
  "$BIN" --state-dir "$1" model pull --mirror "$SHARED/models/mobilenet_v2_1.0_224_quant.tflite" >/dev/null 2>&1
  "$BIN" --state-dir "$1" dataset import "$2" >/dev/null 2>&1
}

timed() { # label engine state: one timed `alphad train`
  local out
  out=$( { /usr/bin/time -f "TIME %e %U %S" "$BIN" --state-dir "$3" train --engine "$2" | grep '^time ' || true; } 2>&1 | grep -E '^(TIME|time) ' || true)
  local wall cpu phases
  wall=$(sed -n 's/^TIME \([^ ]*\) .*/\1/p' <<<"$out")
  cpu=$(sed -n 's/^TIME [^ ]* \([^ ]*\) \([^ ]*\)/\1 \2/p' <<<"$out" | awk '{printf "%.2f", $1 + $2}')
  phases=$(sed -n 's/^time wall\/cpu s: //p' <<<"$out")
  # An alphad from before per-phase timings: its embedding/training split.
  [ -n "$phases" ] || phases=$("$BIN" --state-dir "$3" model show | grep -E '^(timings|cpu) ' | tr -s ' ' | paste -sd';')
  if [ -n "${SUMMARY:-}" ]; then
    line+="${line:+; }$1 $wall s wall / $cpu s CPU"
  else
    printf '== %s, %s: %s s wall, %s s CPU (process)\n   phases wall/cpu s: %s\n' "$1" "$2" "$wall" "$cpu" "$phases"
  fi
}

for eng in "${engines[@]}"; do
  line=
  state "$tmp/first-$eng" "$tmp/all"
  timed "first training of $(count "$tmp/all") samples" "$eng" "$tmp/first-$eng"
  state "$tmp/retrain-$eng" "$tmp/first"
  "$BIN" --state-dir "$tmp/retrain-$eng" train --engine "$eng" >/dev/null 2>&1
  "$BIN" --state-dir "$tmp/retrain-$eng" dataset import "$tmp/later" >/dev/null 2>&1
  timed "retraining after $(count "$tmp/later") new samples ($(count "$tmp/all") in all)" "$eng" "$tmp/retrain-$eng"
  rm -rf "$tmp/first-$eng" "$tmp/retrain-$eng"
  [ -z "${SUMMARY:-}" ] || echo "training time ($eng, rps_picam, process): $line (load $(cut -d' ' -f1 /proc/loadavg))"
done
[ -n "${SUMMARY:-}" ] || echo "(load average $(cut -d' ' -f1-3 /proc/loadavg); wall times on a shared machine are noisy: compare the CPU times)"
