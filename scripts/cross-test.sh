#!/usr/bin/env bash
# Golden conformance of the native engine on arm64 and armv7 under
# qemu-user: cross-compiles the test binaries of the native engine and its
# integer kernels (CGO_ENABLED=0, as the release binaries) and runs them
# under qemu-aarch64 / qemu-arm (apt-get install qemu-user). The engine
# takes its portable kernels there, so this checks them, every GEMM
# variant of the platform, against the real TFLite outputs. Correctness
# only: emulated timings say nothing about a Pi.
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
native_run='TestPool|TestGoldenEachKernel|TestQuantTeachableMachine|TestThreadsAgree|TestInvokeAllocatesNothing'
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
  for pkg in pipeline/engine/native/qmath pipeline/engine/native; do
    bin=$out/$(basename "$pkg").test
    env "${env[@]}" GOOS=linux CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-}" go test -c -o "$bin" "./$pkg"
    run=.
    [[ $pkg == */native ]] && run=$native_run
    echo "cross-test: $arch $pkg ($qemu)"
    (cd "$pkg" && "$qemu" "$bin" -test.count=1 -test.short -test.timeout=60m -test.run "$run")
  done
done
