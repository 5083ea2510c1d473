#!/usr/bin/env bash
# Golden conformance of the native engine on arm64 and armv7 under
# qemu-user: cross-compiles the test binaries of the native engine and its
# integer kernels (CGO_ENABLED=0, as the release binaries) and runs them
# under qemu-aarch64 / qemu-arm (apt-get install qemu-user), checking
# every kernel variant of the platform against the real TFLite outputs.
# arm64 runs three times:
#   - -cpu max: the NEON kernels with the dot-product extension (UDOT),
#     and in TestGoldenEachKernel the NEON GEMM also with UMLAL and SWAR;
#   - -cpu cortex-a53 (ARMv8.0, no dot product): the kernel detection
#     (TestDots) and what the engine picks there by itself (NEON GEMM,
#     UMLAL) on the Teachable Machine export;
#   - the purego build: the portable Go kernels (scalar 4×4 GEMM, SWAR);
# then builds the release binary (make release-arm64: CGO_ENABLED=0) and
# runs one inference of each MobileNetV2 with it. armv7 has the portable
# kernels only. Correctness only: emulated timings say nothing about a Pi.
#
#   cross-test.sh [arm64|armv7 ...]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export ALPHAD_SHARED="${ALPHAD_SHARED:-$(cd ../shared && pwd)}"
archs=("$@")
((${#archs[@]})) || archs=(arm64 armv7)
# The golden rows with every GEMM kernel of the platform, the Teachable
# Machine export against the real runtime (two frames with -short), and
# thread splitting; qmath runs all its tests (reference loops).
native_run='TestPool|TestGoldenEachKernel|TestQuantTeachableMachine|TestThreadsAgree|TestInvokeAllocatesNothing|TestChainedOps|TestGemmGridClaims'
for arch in "${archs[@]}"; do
  case $arch in
    arm64) env=(GOARCH=arm64); qemu=qemu-aarch64 ;;
    armv7) env=(GOARCH=arm GOARM=7); qemu=qemu-arm ;;
    *) echo "cross-test: unknown arch $arch (arm64 or armv7)" >&2; exit 2 ;;
  esac
  if ! command -v "$qemu" >/dev/null; then
    echo "cross-test: $qemu not found (apt-get install qemu-user)" >&2
    exit 1
  fi
  out=$root/.cache/cross/$arch
  mkdir -p "$out"
  # runs: tags;qemu cpu;expected dot kernels;native tests;native skips
  runs=(";;;$native_run;")
  if [[ $arch == arm64 ]]; then
    runs=(
      ";max;neon-udot,neon-mlal,swar;$native_run;TestGoldenEachKernel/scalar"
      ";cortex-a53;neon-mlal,swar;TestQuantTeachableMachine;"
      "purego;max;swar;TestGoldenEachKernel|TestQuantTeachableMachine;TestGoldenEachKernel/scalar3x3"
    )
  fi
  for spec in "${runs[@]}"; do
    IFS=';' read -r tags cpu dots run_native skip_native <<<"$spec"
    qargs=()
    [[ -n $cpu ]] && qargs=(-cpu "$cpu")
    for pkg in pipeline/engine/native/qmath pipeline/engine/native; do
      bin=$out/$(basename "$pkg")${tags:+-$tags}.test
      env "${env[@]}" GOOS=linux CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-}" go test -tags "$tags" -c -o "$bin" "./$pkg"
      run=. skip=
      [[ $pkg == */native ]] && run=$run_native skip=$skip_native
      echo "cross-test: $arch $pkg (${tags:+tags $tags, }$qemu${cpu:+ -cpu $cpu})"
      (cd "$pkg" && ALPHAD_WANT_DOTS="$dots" "$qemu" "${qargs[@]}" "$bin" -test.count=1 -test.short -test.timeout=60m -test.run "$run" -test.skip "$skip")
    done
  done
  if [[ $arch == arm64 ]]; then
    # The release artefact: one inference of each model, emulated.
    ./scripts/cross.sh arm64-static
    for model in mobilenet_v2_1.0_224_dequant_f32 mobilenet_v2_1.0_224_quant; do
      echo "cross-test: bin/alphad-linux-arm64-static bench $model ($qemu)"
      "$qemu" -cpu max bin/alphad-linux-arm64-static bench --model "$ALPHAD_SHARED/models/$model.tflite" --engine native --threads 1 --runs 1
    done
  fi
done
if command -v llvm-mc >/dev/null; then
  # The NEON WORDs agree with the instructions their comments name.
  go run ./pipeline/engine/native/neongen -check pipeline/engine/native/*_arm64.s pipeline/engine/native/qmath/*_arm64.s
else
  echo "cross-test: llvm-mc not found, NEON encodings not re-checked (apt-get install llvm)"
fi
