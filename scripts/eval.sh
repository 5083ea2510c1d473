#!/usr/bin/env bash
# make eval: measure on-device learning on ../shared/datasets with
# `alphad eval` and print one table. Where the accuracy goals live.
#
#   make eval                    (builds bin/alphad first)
#   EVAL_JOBS=4 make eval        (rows in parallel: on a busy or many-core machine)
#   EVAL_DIR=/tmp/x scripts/eval.sh
#
# Each dataset gets a state directory under $EVAL_DIR (default .cache/eval)
# holding its samples and the embedding cache, so a second run only trains.
# Rows: repeated stratified 5-fold CV × 2 seeds (mean ± sd over the 10
# runs) for the defaults and the plain TM-style head, with test-time
# variants of the same heads (tta: mirror averaging, ncm: nearest class
# mean, blend: their mean), few-shot rows (5/10/20 per class, with and
# without the prototype blend, plain head), adding a class, and the
# training views (crops: 4, none: 1; the default is flip: 2), fine-tuning
# the backbone's last 1×1 conv (--finetune); then the open set: the
# default rps model on photos of no known class. Last, the time of a first
# training and of a retraining (scripts/train-time.sh on the first engine
# compiled in, xnnpack when it is; EVAL_TIME=0: not).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/alphad}
SHARED=$(cd "${ALPHAD_SHARED:-../shared}" 2>/dev/null && pwd) || { echo "eval: shared data not found (set ALPHAD_SHARED)" >&2; exit 1; }
EVAL_DIR=${EVAL_DIR:-.cache/eval}
EVAL_JOBS=${EVAL_JOBS:-1}
EVAL_TIME=${EVAL_TIME:-1}
[ -x "$BIN" ] || { echo "eval: $BIN not built (make build)" >&2; exit 1; }
mkdir -p "$EVAL_DIR"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

plain=(--augment none --ensemble 1 --label-smoothing 0 --l2 0 --patience 0 --refit=false --class-weights=false --calibrate=false)

prepare() { # dataset: state dir with samples, backbone and embeddings
  local s=$EVAL_DIR/$1
  if [ ! -s "$s/state.db" ]; then
    echo "eval: importing $1 into $s" >&2
    "$BIN" --state-dir "$s" model pull --mirror "$SHARED/models/mobilenet_v2_1.0_224_quant.tflite" >/dev/null 2>&1
    "$BIN" --state-dir "$s" dataset import "$SHARED/datasets/$1" >/dev/null 2>&1
  fi
  if ! "$BIN" --state-dir "$s" model ls 2>/dev/null | grep -q '^\*'; then
    echo "eval: training $1 (embeds every sample once)" >&2
    "$BIN" --state-dir "$s" train >/dev/null 2>&1
  fi
}

n=0
row() { # dataset name args...: one background job per row, EVAL_JOBS at a time
  local ds=$1 name=$2 k=$((n++))
  shift 2
  while [ "$(jobs -rp | wc -l)" -ge "$EVAL_JOBS" ]; do wait -n || true; done
  (
    # The sample store is locked per process: parallel rows use copies.
    state=$EVAL_DIR/$ds
    if [ "$EVAL_JOBS" -gt 1 ]; then state=$out/state-$k; cp -a "$EVAL_DIR/$ds" "$state"; fi
    if "$BIN" --state-dir "$state" eval --format row --name "$ds: $name" "$@" >"$out/row-$(printf %03d $k)" 2>"$out/err-$k"; then
      echo "eval: done $ds: $name" >&2
    else
      echo "eval: $ds: $name failed: $(tail -1 "$out/err-$k")" >&2
    fi
    [ "$EVAL_JOBS" -le 1 ] || rm -rf "$state"
  ) &
}

for ds in rps_picam flowers_tf; do prepare "$ds"; done
# The open set first: the default rps model (trained on all of rps_picam)
# shown photos that are none of rock, paper, scissors.
"$BIN" --state-dir "$EVAL_DIR/rps_picam" train >/dev/null 2>&1
for other in flowers_tf tm_webcam_face_hand; do
  k=$((n++))
  while [ "$(jobs -rp | wc -l)" -ge "$EVAL_JOBS" ]; do wait -n || true; done
  "$BIN" --state-dir "$EVAL_DIR/rps_picam" eval --reject "$SHARED/datasets/$other" --format row \
    --name "rps model on $other (open set)" >"$out/row-$(printf %03d $k)" 2>"$out/err-$k" &
done
# Most telling rows first (EVAL_JOBS=2 runs two at a time).
for ds in rps_picam flowers_tf; do
  row "$ds" "defaults"
  row "$ds" "plain TM-style head" "${plain[@]}"
done
for ds in rps_picam flowers_tf; do
  for k in 5 10 20; do row "$ds" "$k per class" --per-class "$k"; done
  for k in 5 20; do row "$ds" "$k per class, no prototypes" --per-class "$k" --prototypes 0; done
  for k in 5 20; do row "$ds" "$k per class, plain head" --per-class "$k" "${plain[@]}"; done
done
# Adding a class: the last class joins a device trained on the others.
row rps_picam "add a 3rd class" --add-class
row flowers_tf "first 4 classes, add the 4th" --classes 4 --add-class
for ds in rps_picam flowers_tf; do
  row "$ds" "augment crops (4 views)" --augment crops
  row "$ds" "augment none (1 view)" --augment none
done
# Fine-tuning beyond the head on cached Conv_1 inputs (7×7×320 per view):
# the float tail unchanged (the control), a per-channel scale and shift of
# Conv_1's pre-activation, a rank-16 update of its weights (the best of
# the ranks and rates tried: 8 at lr 0.01 gave 86.5 ± 3.9 on flowers).
for ds in rps_picam flowers_tf; do
  row "$ds" "fine-tune: float tail, frozen" --finetune frozen
  row "$ds" "fine-tune: Conv_1 scale+shift" --finetune scale
  row "$ds" "fine-tune: Conv_1 LoRA rank 16" --finetune lora --finetune-rank 16 --finetune-lr 0.03
  row "$ds" "10 per class, fine-tune scale+shift" --per-class 10 --finetune scale
done
wait

{
  printf 'DATASET: VARIANT\tN\tACCURACY %% (mean ± sd)\tWORST CLASS %%\tUNKNOWN %%\tACCEPTED+RIGHT %%\tTRAIN s\n'
  cat "$out"/row-*
} | column -t -s $'\t'
echo
echo "CV: stratified 5 folds × 2 seeds, mean ± sd over the 10 runs; \"X, tta/ncm/blend\" rows score row X's heads"
echo "differently (mirror averaging, nearest class mean, their blend). \"add …\" rows: held-out accuracy of the other"
echo "classes with the head trained without the last class → with it. UNKNOWN: held-out photos of known classes"
echo "the decision (confidence ≥ 0.6 and calibrated class-mean similarity) rejects; for open-set rows, the share"
echo "of foreign photos rejected. TRAIN s: median wall time of one training (noisy on a shared machine)."
if [ "$EVAL_TIME" != 0 ]; then
  eng=$("$BIN" version | sed -n 's/^engines: \([^,]*\).*/\1/p')
  SUMMARY=1 BIN=$BIN scripts/train-time.sh "$eng" || echo "eval: scripts/train-time.sh failed" >&2
fi
