#!/usr/bin/env bash
# Cross-build alphad for a Raspberry Pi: cross.sh arm64|armv7|arm64-static
#
# arm64-static is the release artefact bin/alphad-linux-arm64-static:
# CGO_ENABLED=0, native engine (NEON kernels), no library dependencies.
#
# arm64 with the XNNPACK engine needs Debian's arm64 libraries and a cross C
# compiler (once, as root):
#   dpkg --add-architecture arm64 && apt-get update
#   apt-get install gcc-aarch64-linux-gnu libxnnpack-dev:arm64 libpthreadpool-dev:arm64
# armhf likewise with gcc-arm-linux-gnueabihf and :armhf. Without them the
# binary is pure Go (native engine only, CGO_ENABLED=0) and runs anywhere.
# Note: bookworm's libxnnpack-dev is not Multi-Arch co-installable: the :arm64
# package replaces the host's (reinstall libxnnpack-dev:amd64 afterwards, or
# cross-build in a separate chroot, or build on the Pi itself).
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:?usage: cross.sh arm64|armv7|arm64-static}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
ldflags="-s -w -X main.version=$VERSION -X main.commit=$COMMIT"
mkdir -p bin
if [[ $arch == arm64-static ]]; then
  echo "cross: arm64 static, native engine only (CGO_ENABLED=0)"
  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o bin/alphad-linux-arm64-static ./cmd/alphad
  ls -l bin/alphad-linux-arm64-static
  exit 0
fi
case $arch in
  arm64) goarch=arm64; cc=aarch64-linux-gnu-gcc; debarch=arm64; out=bin/alphad-linux-arm64; extra=() ;;
  armv7) goarch=arm; cc=arm-linux-gnueabihf-gcc; debarch=armhf; out=bin/alphad-linux-armv7; extra=(GOARM=7) ;;
  *) echo "cross: unknown arch $arch (arm64, armv7 or arm64-static)" >&2; exit 2 ;;
esac
if command -v "$cc" >/dev/null && dpkg -s "libxnnpack-dev:$debarch" >/dev/null 2>&1 && dpkg -s "libpthreadpool-dev:$debarch" >/dev/null 2>&1; then
  echo "cross: $arch with the xnnpack engine ($cc, libxnnpack-dev:$debarch)"
  env "${extra[@]}" GOOS=linux GOARCH=$goarch CGO_ENABLED=1 CC=$cc \
    go build -tags xnnpack -trimpath -ldflags "$ldflags" -o "$out" ./cmd/alphad
else
  echo "cross: $arch native engine only (for xnnpack install $cc and libxnnpack-dev:$debarch, see scripts/cross.sh)"
  env "${extra[@]}" GOOS=linux GOARCH=$goarch CGO_ENABLED=0 \
    go build -trimpath -ldflags "$ldflags" -o "$out" ./cmd/alphad
fi
ls -l "$out"
