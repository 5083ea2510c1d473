#!/usr/bin/env bash
# Build a Debian package: deb.sh [ARCH]   (ARCH: amd64, arm64, armhf; default: this machine's)
#
# The package holds /usr/bin/alphad, the systemd unit, the default
# configuration as a conffile and the GPIO udev rule; postinst creates the
# alphad user (groups video, gpio) and reloads udev and systemd. arm64 and
# armhf binaries come from scripts/cross.sh. Output: dist/alphad_<version>_<arch>.deb
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(dpkg --print-architecture 2>/dev/null || go env GOARCH)
arch=${1:-$host}
# The version is the Makefile's: a release tag (v1.2.3 -> 1.2.3), else
# 0.1.0-dev; a -dev build becomes 0.1.0~dev+g<commit> (sorts before 0.1.0).
VERSION=${VERSION:-$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null | sed 's/^v//' || true)}
VERSION=${VERSION:-0.1.0-dev}
COMMIT=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
debver=$(echo "$VERSION" | sed -e 's/^v//' -e 's/-dev$/~dev/' -e 's/[^A-Za-z0-9.+~-]/-/g')
[[ $debver == *~dev ]] && debver="$debver+g$COMMIT"
[[ $debver =~ ^[0-9] ]] || debver="0~$debver"

case $arch in
  "$host")
    bin=${BIN:-bin/alphad} # `make deb` builds it first
    [ -x "$bin" ] || make --no-print-directory build >&2 ;;
  arm64) ./scripts/cross.sh arm64 >&2; bin=bin/alphad-linux-arm64 ;;
  armhf | armv7) arch=armhf; ./scripts/cross.sh armv7 >&2; bin=bin/alphad-linux-armv7 ;;
  *) echo "deb: unknown arch $arch (amd64, arm64, armhf)" >&2; exit 2 ;;
esac

root=dist/deb/alphad_${debver}_$arch
rm -rf "$root"
install -D -m 0755 "$bin" "$root/usr/bin/alphad"
install -D -m 0644 systemd/alphad.service "$root/lib/systemd/system/alphad.service"
install -D -m 0644 systemd/alphad@.service "$root/lib/systemd/system/alphad@.service"
install -D -m 0640 packaging/alphad.yaml "$root/etc/alphad/alphad.yaml"
for r in firmware-config/*.rules; do
  [ -e "$r" ] && install -D -m 0644 "$r" "$root/etc/udev/rules.d/$(basename "$r")"
done
install -D -m 0644 packaging/README.md "$root/usr/share/doc/alphad/README.packaging.md"
install -D -m 0644 packaging/copyright "$root/usr/share/doc/alphad/copyright"
for f in README.md docs/*.md; do install -D -m 0644 "$f" "$root/usr/share/doc/alphad/$(basename "$f")"; done
gzip -9nc CHANGELOG.md >"$root/usr/share/doc/alphad/changelog.gz"
# Man pages and completions come from the command tree of a binary that
# runs here (a cross-built one does not): this machine's build.
gen=${BIN:-bin/alphad}
[ -x "$gen" ] || make --no-print-directory build >&2
mkdir -p "$root/usr/share/man/man1"
"$gen" __man "$root/usr/share/man/man1" >/dev/null
gzip -9n "$root"/usr/share/man/man1/*.1
install -d "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" "$root/usr/share/fish/vendor_completions.d"
"$gen" completion bash >"$root/usr/share/bash-completion/completions/alphad"
"$gen" completion zsh >"$root/usr/share/zsh/vendor-completions/_alphad"
"$gen" completion fish >"$root/usr/share/fish/vendor_completions.d/alphad.fish"
mkdir -p "$root/DEBIAN"
for s in postinst prerm postrm; do install -m 0755 "packaging/$s" "$root/DEBIAN/$s"; done
(cd "$root" && find etc -type f | sed 's|^|/|') >"$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: alphad
Version: $debver
Architecture: $arch
Maintainer: alphad developers <alphad@localhost>
Installed-Size: $size
Depends: adduser | passwd, systemd
Recommends: mosquitto-clients
Suggests: rpicam-apps
Section: misc
Priority: optional
Homepage: https://github.com/alphad/alphad
Description: Teachable Machine for physical machines
 A daemon for the Raspberry Pi that classifies camera frames with a
 TFLite MobileNetV2, learns new classes on the device (GPIO buttons or
 MQTT) and publishes decisions over MQTT with Home Assistant discovery.
CONTROL
# A cgo (xnnpack) binary links Debian's shared libraries: depend on them.
if command -v objdump >/dev/null && objdump -p "$root/usr/bin/alphad" 2>/dev/null | grep -q 'NEEDED.*libXNNPACK'; then
  sed -i 's/^Depends: .*/&, libxnnpack0, libpthreadpool0/' "$root/DEBIAN/control"
fi
mkdir -p dist
dpkg-deb --build --root-owner-group "$root" "dist/alphad_${debver}_$arch.deb" >&2
dpkg-deb --info "dist/alphad_${debver}_$arch.deb" | sed -n '/Package:/,/Description:/p' >&2
dpkg-deb --contents "dist/alphad_${debver}_$arch.deb" >&2
echo "dist/alphad_${debver}_$arch.deb"
