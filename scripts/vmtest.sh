#!/usr/bin/env bash
# vmtest.sh — run alphad's hardware tests against real kernel drivers in a
# QEMU VM: vivid (V4L2 camera, /dev/video0), v4l2loopback (MJPEG camera fed by
# the test, /dev/video10) and gpio-sim (GPIO character device, configured by
# the tests through configfs). `make vmtest` calls it; so does .ci/run.
#
#   scripts/vmtest.sh [-- extra go test flags, e.g. -test.run TestVMPanel]
#
# Steps: apt-get download Debian bookworm's kernel, headers, busybox-static,
# linux-source-6.1 and v4l2loopback-dkms (cached); extract the three gpio-sim
# files from linux-source at test time (no kernel source is in the repo) and
# build gpio-sim.ko and v4l2loopback.ko out of tree against the headers;
# build the test packages as static binaries (native engine, no xnnpack);
# pack an initramfs (busybox, modules, tests, mosquitto, a model); boot
# qemu-system-x86_64 (TCG, 1 vCPU); print the tests' output; exit with their
# exit code (125: the VM never reported; 99: a driver failed to load; 3: a
# host prerequisite is missing).
#
# Environment:
#   VMTEST_CACHE    download/build cache (default .cache/vmtest; with CI=true a
#                   fresh temporary directory, removed afterwards)
#   VMTEST_PKGS     packages to test (default: device/v4l2, device/panel, cmd/alphad)
#   VMTEST_NOCGO_PKGS  packages also tested built with CGO_ENABLED=0 (default
#                   device/v4l2; empty: none)
#   VMTEST_RUN      -test.run pattern (default ^(TestVM|TestVivid$))
#   VMTEST_TIMEOUT  seconds before the VM is killed (default 600)
#   VMTEST_MEM      guest memory in MB (default 1024)
#   VMTEST_ACCEL    tcg (default) or kvm
#   VMTEST_CPU      the emulated CPU model under TCG (default max)
#   VMTEST_QEMU     the emulator (default qemu-system-x86_64)
#   VMTEST_KERNEL_PKG  Debian kernel meta package (default linux-image-amd64)
#   VMTEST_OFFLINE=1  do not ask apt for a newer kernel when one is cached
#   VMTEST_KEEP=1   keep the build directory (initramfs, logs)
# The guest tests see VMTEST=1; they skip without it, so `go test ./...` on
# the host stays green.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HERE=$ROOT/scripts/vmtest
PKGS=${VMTEST_PKGS:-./device/v4l2 ./device/panel ./cmd/alphad}
NOCGO_PKGS=${VMTEST_NOCGO_PKGS-./device/v4l2}
RUN=${VMTEST_RUN:-'^(TestVM|TestVivid$)'}
TIMEOUT=${VMTEST_TIMEOUT:-600}
MEM=${VMTEST_MEM:-1024}
ACCEL=${VMTEST_ACCEL:-tcg}
QEMU=${VMTEST_QEMU:-qemu-system-x86_64}
KPKG=${VMTEST_KERNEL_PKG:-linux-image-amd64}
[ "${1:-}" = "--" ] && shift
EXTRA_ARGS=("$@")
SHARED=${ALPHAD_SHARED:-$ROOT/../shared}
MODEL=$SHARED/models/mobilenet_v2_1.0_224_quant_features.tflite

T0=$(date +%s%N)
step() { printf '[vmtest %6.1fs] %s\n' "$(awk -v a="$T0" -v b="$(date +%s%N)" 'BEGIN{print (b-a)/1e9}')" "$*" >&2; }
die() { echo "vmtest: $*" >&2; exit "${RC:-3}"; }

if [ -n "${VMTEST_CACHE:-}" ]; then
  CACHE=$VMTEST_CACHE
elif [ "${CI:-}" = true ]; then
  CACHE=$(mktemp -d "${TMPDIR:-/tmp}/alphad-vmtest-cache.XXXXXX")
  CLEAN_CACHE=$CACHE
else
  CACHE=$ROOT/.cache/vmtest
fi
BUILD=$(mktemp -d "${TMPDIR:-/tmp}/alphad-vmtest.XXXXXX")
export ROOT BUILD PKGS NOCGO_PKGS GOAMD64_VM=${VMTEST_GOAMD64:-v1}
cleanup() {
  [ -n "${GOPID:-}" ] && kill -- "-$GOPID" 2>/dev/null && wait "$GOPID" 2>/dev/null
  [ -n "${GSPID:-}" ] && kill "$GSPID" 2>/dev/null && wait "$GSPID" 2>/dev/null
  [ -n "${QPID:-}" ] && kill "$QPID" 2>/dev/null
  [ -n "${VMTEST_KEEP:-}" ] && echo "vmtest: build directory kept: $BUILD" >&2 || rm -rf "$BUILD"
  [ -n "${CLEAN_CACHE:-}" ] && rm -rf "$CLEAN_CACHE"
  return 0
}
trap cleanup EXIT
mkdir -p "$CACHE/debs"

# --- 0. host prerequisites -------------------------------------------------
# In CI (CI=true, root) missing tools are installed; elsewhere their absence
# is an error that says what to install.
want_cmd() { # command package
  command -v "$1" >/dev/null && return 0
  MISSING_PKGS+=("$2")
}
MISSING_PKGS=()
want_cmd "$QEMU" qemu-system-x86
want_cmd gcc gcc
want_cmd make make
want_cmd apt-get apt
want_cmd dpkg-deb dpkg
want_cmd xz xz-utils
want_cmd go golang
[ -x /usr/sbin/mosquitto ] || MISSING_PKGS+=(mosquitto)
# libraries of the kbuild tools in Debian's linux-headers (objtool, sign-file)
LIBS=$("$(command -v ldconfig || echo /sbin/ldconfig)" -p 2>/dev/null || true)
for l in libelf.so.1:libelf1 libcrypto.so.3:libssl3 libz.so.1:zlib1g; do
  [[ $LIBS == *"${l%%:*} "* ]] || MISSING_PKGS+=("${l#*:}")
done
if [ ${#MISSING_PKGS[@]} -gt 0 ]; then
  if [ "${CI:-}" = true ] && [ "$(id -u)" = 0 ]; then
    step "install ${MISSING_PKGS[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || true
    apt-get install -y -qq --no-install-recommends "${MISSING_PKGS[@]}" >/dev/null ||
      die "apt-get install ${MISSING_PKGS[*]} failed"
  else
    die "missing host tools; install them with: apt-get install ${MISSING_PKGS[*]} (CI=true as root installs them itself)"
  fi
fi
[ -s "$MODEL" ] || die "model $MODEL not found (set ALPHAD_SHARED to the shared data directory)"

# --- 1. static test binaries, built in the background meanwhile -----------------
# Native engine only (no xnnpack tag: there are no static XNNPACK libraries);
# GOAMD64=v1 so the binaries run on whatever CPU TCG emulates. The packages in
# $NOCGO_PKGS are built a second time with CGO_ENABLED=0: the camera then
# uses its pure Go ioctls instead of go4vl, as the armv7 build does.
step "go test -c $PKGS${NOCGO_PKGS:+, and with CGO_ENABLED=0 $NOCGO_PKGS} (in the background)"
mkdir -p "$BUILD/tests" "$BUILD/nocgo"
# shellcheck disable=SC2016
setsid bash -c 'cd "$ROOT" &&
  CGO_ENABLED=1 GOAMD64=$GOAMD64_VM go test -c -vet=off -o "$BUILD/tests/" -tags netgo,osusergo \
    -ldflags "-s -w -extldflags -static" $PKGS > "$BUILD/gotest-c.log" 2>&1 &&
  { [ -z "$NOCGO_PKGS" ] || CGO_ENABLED=0 GOAMD64=$GOAMD64_VM go test -c -vet=off -o "$BUILD/nocgo/" \
    -ldflags "-s -w" $NOCGO_PKGS >> "$BUILD/gotest-c.log" 2>&1; }
  echo $? > "$BUILD/gotest-c.rc"' &
GOPID=$!

# --- 2. kernel, headers, busybox, sources (apt-get download, cached) ------------
# The version is resolved with apt-cache (kept for 12 h, or for good with
# VMTEST_OFFLINE=1, so warm local runs do not ask apt).
RES=$CACHE/resolved-$KPKG
if { [ -n "${VMTEST_OFFLINE:-}" ] && [ -s "$RES" ]; } || [ -n "$(find "$RES" -mmin -720 2>/dev/null)" ]; then
  read -r ABI_PKG KVER < "$RES"
else
  # CI starts from scratch: fresh package lists, so the versions resolved
  # below can still be downloaded. Elsewhere only when apt lacks the package.
  if [ "$(id -u)" = 0 ] && { [ "${CI:-}" = true ] || ! apt-cache show "$KPKG" >/dev/null 2>&1; }; then
    step "apt-get update"
    apt-get update -qq || echo "vmtest: apt-get update reported errors; continuing with the package lists there are" >&2
  fi
  ABI_PKG=$( (apt-cache depends "$KPKG" 2>/dev/null || true) | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  [ -n "$ABI_PKG" ] || die "kernel package $KPKG is unavailable: apt-cache cannot resolve it to a linux-image-<abi> package (Debian bookworm sources and apt-get update needed)"
  KVER=$(apt-cache policy "$ABI_PKG" | awk '/Candidate:/{print $2}')
  [ -n "$KVER" ] && [ "$KVER" != "(none)" ] || die "kernel package $ABI_PKG has no installable version"
  echo "$ABI_PKG $KVER" > "$RES"
fi
KREL=${ABI_PKG#linux-image-} # e.g. 6.1.0-57-amd64
KDIR=$CACHE/kernel-$KREL-$KVER
HDR=$KDIR/hdr/usr/src/linux-headers-$KREL

# dl PKG [VERSION]: the cached .deb of PKG, downloading it when missing.
dl() {
  local pkg=$1 ver=${2:-} f
  f=$(ls "$CACHE/debs/${pkg}_${ver//:/%3a}"*.deb 2>/dev/null | tail -1 || true)
  if [ -z "$f" ]; then
    (cd "$CACHE/debs" && apt-get download -q "$pkg${ver:+=$ver}" 2>&1 |
      grep -v -e '^W: Download is performed unsandboxed' -e '^Get:' -e '^Fetched' >&2) || true
    f=$(ls "$CACHE/debs/${pkg}_${ver//:/%3a}"*.deb 2>/dev/null | tail -1 || true)
    [ -n "$f" ] || die "apt-get download $pkg${ver:+=$ver} failed (is the Debian bookworm package index available? try apt-get update)"
  fi
  echo "$f"
}

# Debian's kernels have CONFIG_GPIO_SIM and CONFIG_IRQ_SIM unset, so gpio-sim
# is built out of tree. Three upstream files are stream-extracted from the
# source tarball inside linux-source-6.1 — in the background, while the kernel
# is unpacked — and irq_sim.c is patched: irq_to_desc is not exported to
# modules, so it calls generic_handle_irq instead.
GS=$CACHE/gpio-sim-$KREL-$KVER
extract_gpio_sim() { # the linux-source .deb
  local src=$1 tmp=$CACHE/gpio-sim-src.$$ s
  rm -rf "$GS" "$tmp"
  mkdir -p "$tmp"
  # tar stops after the last of the three: the writers get SIGPIPE
  dpkg-deb --fsys-tarfile "$src" 2>/dev/null | tar -xO ./usr/src/linux-source-6.1.tar.xz 2>/dev/null | xz -dc 2>/dev/null |
    tar -x -C "$tmp" --occurrence=1 linux-source-6.1/drivers/gpio/gpio-sim.c \
      linux-source-6.1/drivers/gpio/gpiolib.h linux-source-6.1/kernel/irq/irq_sim.c || true
  s=$tmp/linux-source-6.1
  for f in drivers/gpio/gpio-sim.c drivers/gpio/gpiolib.h kernel/irq/irq_sim.c; do
    [ -s "$s/$f" ] || { echo "vmtest: $f not found in $src" >&2; return 1; }
  done
  mkdir -p "$GS.new"
  cp "$s/drivers/gpio/gpio-sim.c" "$GS.new/gpio_sim_main.c"
  cp "$s/drivers/gpio/gpiolib.h" "$GS.new/"
  sed 's/handle_simple_irq(irq_to_desc(\([a-z_]*\)))/generic_handle_irq(\1)/' "$s/kernel/irq/irq_sim.c" > "$GS.new/irq_sim.c"
  rm -rf "$tmp"
  if ! grep -q 'generic_handle_irq(' "$GS.new/irq_sim.c" || grep -q 'irq_to_desc' "$GS.new/irq_sim.c"; then
    echo "vmtest: irq_sim.c: the irq_to_desc call to patch was not found" >&2
    return 1
  fi
  printf 'obj-m := gpio-sim.o\ngpio-sim-y := gpio_sim_main.o irq_sim.o\n' > "$GS.new/Kbuild"
  mv "$GS.new" "$GS"
}
if [ ! -e "$GS/gpio-sim.ko" ]; then
  step "gpio-sim: extract 3 files from linux-source-6.1 $KVER (in the background)"
  SRC=$(dl linux-source-6.1 "$KVER")
  rm -rf "$GS.new"
  extract_gpio_sim "$SRC" > "$CACHE/gpio-sim-extract.log" 2>&1 &
  GSPID=$!
fi

if [ ! -e "$KDIR/.done" ]; then
  step "fetch $ABI_PKG $KVER, headers, busybox-static"
  rm -rf "$KDIR"
  mkdir -p "$KDIR/root" "$KDIR/hdr" "$KDIR/bb"
  IMG=$(dl "$ABI_PKG" "$KVER")
  # only vmlinuz and the modules the VM loads (media, configfs) + modules.*
  dpkg-deb --fsys-tarfile "$IMG" | tar -x -C "$KDIR/root" --wildcards \
    './boot/vmlinuz-*' "./lib/modules/$KREL/modules.*" \
    "./lib/modules/$KREL/kernel/drivers/media/*" "./lib/modules/$KREL/kernel/fs/configfs/*"
  COMMON=$(apt-cache depends "linux-headers-$KREL" | awk '/Depends: linux-headers-.*-common/{print $2; exit}')
  KBUILD=$(apt-cache depends "linux-headers-$KREL" | awk '/Depends: linux-kbuild-/{print $2; exit}')
  for p in "linux-headers-$KREL" "$COMMON" "$KBUILD"; do dpkg -x "$(dl "$p" "$KVER")" "$KDIR/hdr"; done
  sed -i "s#^include /usr/src/#include $KDIR/hdr/usr/src/#" "$HDR/Makefile"
  dpkg -x "$(dl busybox-static)" "$KDIR/bb"
  "$KDIR/bb/bin/busybox" depmod -b "$KDIR/root" "$KREL" # the package ships no modules.dep
  # QEMU boots the ELF vmlinux through its PVH entry point: decompressing the
  # bzImage inside the emulated guest would cost seconds.
  BZ=$KDIR/root/boot/vmlinuz-$KREL
  off=$(LC_ALL=C grep -m1 -obUaP '\xfd7zXZ\x00' "$BZ" | awk -F: 'NR==1{print $1}')
  [ -n "$off" ] || die "$BZ: no xz stream found"
  xz -dc --single-stream < <(tail -c +$((off + 1)) "$BZ") > "$KDIR/vmlinux" || true
  [ -s "$KDIR/vmlinux" ] || die "$BZ: could not decompress the kernel"
  touch "$KDIR/.done"
fi
BB=$KDIR/bb/bin/busybox
MODROOT=$KDIR/root/lib/modules/$KREL
[ -e "$MODROOT/modules.dep" ] || "$BB" depmod -b "$KDIR/root" "$KREL"

# --- 3. gpio-sim.ko from Debian's linux-source-6.1 --------------------------------
# (the sources were extracted in the background, see above)
if [ ! -e "$GS/gpio-sim.ko" ]; then
  wait "$GSPID" || true
  GSPID=
  [ -e "$GS/Kbuild" ] || { cat "$CACHE/gpio-sim-extract.log" >&2; die "could not extract gpio-sim's sources from linux-source-6.1 $KVER"; }
  step "gpio-sim.ko: build"
  make -s -C "$HDR" M="$GS" modules > "$GS/build.log" 2>&1 || { cat "$GS/build.log" >&2; die "gpio-sim.ko build failed"; }
fi

# --- 3b. v4l2loopback.ko from Debian's v4l2loopback-dkms source ---------------------
LBK=$KDIR/v4l2loopback.ko
if [ ! -e "$LBK" ]; then
  step "v4l2loopback.ko: build from v4l2loopback-dkms"
  rm -rf "$KDIR/lb"
  dpkg -x "$(dl v4l2loopback-dkms)" "$KDIR/lb"
  LB=$(ls -d "$KDIR"/lb/usr/src/v4l2loopback-*)
  make -s -C "$HDR" M="$LB" modules > "$KDIR/lb/build.log" 2>&1 || { cat "$KDIR/lb/build.log" >&2; die "v4l2loopback.ko build failed"; }
  cp "$LB/v4l2loopback.ko" "$LBK"
fi

# --- 4. wait for the test binaries ----------------------------------------------
wait "$GOPID" || true
GOPID=
if [ "$(cat "$BUILD/gotest-c.rc" 2>/dev/null)" != 0 ]; then
  cat "$BUILD/gotest-c.log" >&2
  die "go test -c $PKGS failed"
fi
grep -v 'statically linked applications requires at runtime' "$BUILD/gotest-c.log" >&2 || true
ls "$BUILD"/tests/*.test >/dev/null 2>&1 || die "go test -c built no test binaries"
for t in "$BUILD"/tests/*.test; do
  if ldd "$t" >/dev/null 2>&1; then die "$t is dynamically linked; the VM has no C library"; fi
done
# The guest runs them in name order: number them in the order of $PKGS.
i=1
for p in $PKGS; do
  n=$(basename "$p")
  [ -e "$BUILD/tests/$n.test" ] && mv "$BUILD/tests/$n.test" "$BUILD/tests/$i-$n.test"
  [ -e "$BUILD/nocgo/$n.test" ] && mv "$BUILD/nocgo/$n.test" "$BUILD/tests/$i-$n-nocgo.test"
  i=$((i + 1))
done
step "test binaries: $(cd "$BUILD/tests" && ls | tr '\n' ' ')"

# --- 5. initramfs -------------------------------------------------------------------
step "assemble initramfs"
R=$BUILD/root
mkdir -p "$R"/{bin,dev,proc,sys,tmp,run,etc/modopts,data,lib/modules/"$KREL"/extra}
cp "$BB" "$R/bin/busybox"
cp "$HERE/init.sh" "$R/init"
chmod +x "$R/init"
mv "$BUILD/tests" "$R/tests"
{ printf -- '-test.v\n-test.count=1\n-test.timeout=%ss\n-test.run=%s\n' "$((TIMEOUT - 30))" "$RUN"; printf '%s\n' "${EXTRA_ARGS[@]}"; } |
  grep -v '^$' | tr '\n' ' ' > "$R/etc/vmtest.args"
echo "n_devs=1 node_types=0x1" > "$R/etc/modopts/vivid"
echo "video_nr=10 exclusive_caps=1 card_label=loopcam" > "$R/etc/modopts/v4l2loopback"
printf 'root:x:0:0:root:/tmp:/bin/sh\nmosquitto:x:0:0:mosquitto:/tmp:/bin/sh\n' > "$R/etc/passwd"
printf 'root:x:0:\nmosquitto:x:0:\n' > "$R/etc/group"
echo "127.0.0.1 localhost" > "$R/etc/hosts"
cp "$GS/gpio-sim.ko" "$LBK" "$R/lib/modules/$KREL/extra/"
# vivid and configfs with their dependency closure, from the kernel's own tree
mods=$(grep -E '^kernel/(drivers/media/test-drivers/vivid/vivid|fs/configfs/configfs)\.ko:' "$MODROOT/modules.dep" | tr -d ':' | tr ' ' '\n' | sort -u)
[ -n "$mods" ] || die "vivid not found in $MODROOT/modules.dep"
for m in $mods; do
  mkdir -p "$R/lib/modules/$KREL/$(dirname "$m")"
  cp "$MODROOT/$m" "$R/lib/modules/$KREL/$m"
done
cp "$MODROOT"/modules.{order,builtin} "$R/lib/modules/$KREL/" 2>/dev/null || true
"$BB" depmod -b "$R" "$KREL"
# mosquitto (dynamically linked) with its ldd-resolved libraries
cp /usr/sbin/mosquitto "$R/bin/"
mkdir -p "$R/lib/x86_64-linux-gnu" "$R/lib64"
ldd /usr/sbin/mosquitto | awk '/=> \//{print $3}' | while read -r l; do cp -L "$l" "$R/lib/x86_64-linux-gnu/"; done
cp -L /lib64/ld-linux-x86-64.so.2 "$R/lib64/"
cp "$MODEL" "$R/data/features.tflite"
(cd "$R" && find . | "$BB" cpio -o -H newc 2>/dev/null > "$BUILD/initrd.img")
step "initramfs $(($(stat -c %s "$BUILD/initrd.img") / 1048576)) MB: $(echo "$mods" | wc -w) kernel modules + gpio-sim + v4l2loopback, $(ls "$R/tests" | tr '\n' ' ')"

# --- 6. boot ---------------------------------------------------------------------------
ACC=(-accel tcg -cpu "${VMTEST_CPU:-max}")
[ "$ACCEL" = kvm ] && ACC=(-enable-kvm -cpu host)
step "boot qemu ($ACCEL, 1 vCPU, ${MEM} MB, timeout ${TIMEOUT}s)"
: > "$BUILD/test.log"
timeout --foreground "$TIMEOUT" "$QEMU" "${ACC[@]}" -smp 1 -m "$MEM" \
  -nodefaults -no-user-config -display none -nic none -no-reboot \
  -serial "file:$BUILD/console.log" -serial "file:$BUILD/test.log" \
  -kernel "$KDIR/vmlinux" -initrd "$BUILD/initrd.img" \
  -append "console=ttyS0 quiet loglevel=4 panic=-1 oops=panic" &
QPID=$!
# the tests' output as it comes, without the artifact block; tail ends with qemu
tail -n +1 -s 0.2 -f --pid="$QPID" "$BUILD/test.log" |
  sed -u 's/\r$//; /^VMTEST-ARTIFACTS-BEGIN/,/^VMTEST-ARTIFACTS-END/d; /^VMTEST-EXIT=/d'
set +e
wait "$QPID"
qrc=$?
QPID=
set -e
step "qemu exited ($qrc)"
if grep -aq '^VMTEST-ARTIFACTS-BEGIN' "$BUILD/test.log"; then
  ART=$CACHE/artifacts
  [ -n "${CLEAN_CACHE:-}" ] && ART=$ROOT/.cache/vmtest-artifacts
  rm -rf "$ART"
  mkdir -p "$ART"
  tr -d '\r' < "$BUILD/test.log" | sed -n '/^VMTEST-ARTIFACTS-BEGIN/,/^VMTEST-ARTIFACTS-END/p' | sed '1d;$d' | base64 -d | tar -xz -C "$ART" || true
  step "artifacts in $ART"
fi
rc=$(tr -d '\r' < "$BUILD/test.log" | sed -n 's/^VMTEST-EXIT=\([0-9]*\).*/\1/p' | tail -1)
if [ -z "$rc" ]; then
  echo "vmtest: the VM never reported a result (qemu exit $qrc: timeout after ${TIMEOUT}s or kernel panic); kernel console:" >&2
  tr -d '\r' < "$BUILD/console.log" | tail -50 >&2
  rc=125
elif [ "$rc" != 0 ]; then
  echo "--- kernel console (tail) ---" >&2
  tr -d '\r' < "$BUILD/console.log" | tail -30 >&2
fi
if [ "$rc" = 0 ]; then step "PASS"; else step "FAIL (exit $rc)"; fi
exit "$rc"
