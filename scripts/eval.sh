#!/usr/bin/env bash
# make eval: measure on-device learning on ../shared/datasets with
# `alphad eval` and print one table. Where the accuracy goals live.
#
#   make eval                    (builds bin/alphad first)
#   EVAL_DIR=/tmp/x scripts/eval.sh
#
# Each dataset gets a state directory under $EVAL_DIR (default .cache/eval)
# holding its samples and the embedding cache, so a second run only trains.
# Rows: repeated stratified 5-fold CV × 2 seeds (mean ± sd over the 10
# runs) for the defaults, test-time variants of the same heads (tta, ncm,
# blend), cheaper training variants and few-shot rows; then the open set:
# the default rps model on photos of no known class.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/alphad}
SHARED=$(cd "${ALPHAD_SHARED:-../shared}" 2>/dev/null && pwd) || { echo "eval: shared data not found (set ALPHAD_SHARED)" >&2; exit 1; }
EVAL_DIR=${EVAL_DIR:-.cache/eval}
[ -x "$BIN" ] || { echo "eval: $BIN not built (make build)" >&2; exit 1; }
mkdir -p "$EVAL_DIR"
rows=$(mktemp)
trap 'rm -f "$rows" "$rows.err"' EXIT

plain=(--augment none --ensemble 1 --label-smoothing 0 --l2 0 --patience 0 --refit=false --class-weights=false --calibrate=false)

prepare() { # dataset → state dir with samples and backbone
  local s=$EVAL_DIR/$1
  if [ ! -s "$s/samples/journal.jsonl" ]; then
    "$BIN" --state-dir "$s" model pull --mirror "$SHARED/models/mobilenet_v2_1.0_224_quant.tflite" >/dev/null 2>&1
    "$BIN" --state-dir "$s" dataset import "$SHARED/datasets/$1" >/dev/null 2>&1
  fi
  echo "$s"
}

row() { # dataset name args...
  local ds=$1 name=$2
  shift 2
  echo "eval: $ds $name" >&2
  "$BIN" --state-dir "$EVAL_DIR/$ds" eval --format row --name "$ds: $name" "$@" 2>"$rows.err" >>"$rows" ||
    { cat "$rows.err" >&2; echo "eval: $ds $name failed" >&2; exit 1; }
}

for ds in rps_picam flowers_tf; do
  prepare "$ds" >/dev/null
  row "$ds" "defaults"
  row "$ds" "plain TM-style head" "${plain[@]}"
  row "$ds" "augment flip (2 views)" --augment flip
  row "$ds" "augment none" --augment none
  row "$ds" "ensemble 1" --ensemble 1
  for n in 5 10 20; do
    row "$ds" "$n per class" --per-class "$n"
    row "$ds" "$n per class, plain head" --per-class "$n" "${plain[@]}"
  done
done

# The open set: the default model trained on all of rps_picam, shown
# photos that are none of rock, paper, scissors.
echo "eval: training the rps model" >&2
"$BIN" --state-dir "$EVAL_DIR/rps_picam" train >/dev/null 2>&1
for other in flowers_tf tm_webcam_face_hand; do
  echo "eval: rps model on $other" >&2
  "$BIN" --state-dir "$EVAL_DIR/rps_picam" eval --reject "$SHARED/datasets/$other" --format row --name "rps model on $other (open set)" 2>/dev/null >>"$rows"
done

{
  printf 'DATASET: VARIANT\tN\tACCURACY %% (mean ± sd)\tWORST CLASS %%\tUNKNOWN %%\tACCEPTED+RIGHT %%\tTRAIN s\n'
  cat "$rows"
} | column -t -s $'\t'
echo
echo "CV: stratified 5 folds × 2 seeds; tta/ncm/blend rows score the defaults' heads differently; UNKNOWN: held-out"
echo "photos of known classes the unknown rule (threshold 0.6 + calibrated class-mean similarity) rejects, or"
echo "for open-set rows the share of foreign photos rejected; TRAIN s: median wall time of one training."
