#!/bin/busybox sh
# /init of alphad's test VM (PID 1, busybox). scripts/vmtest.sh packs it into
# the initramfs. It loads the real drivers the tests need — vivid
# (/dev/video0), v4l2loopback (/dev/video10) and gpio-sim (configfs) —, runs
# every /tests/*.test with the arguments in /etc/vmtest.args, writing their
# output to the second serial port, ships $VMTEST_ARTIFACTS back as a base64
# tar.gz, prints VMTEST-EXIT=<rc> and powers off. Kernel messages go to the
# first serial port.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/tmp TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /tmp /run
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
ip link set lo up # 127.0.0.1 for the MQTT broker; there is no other network
OUT=/dev/ttyS1
[ -c $OUT ] || OUT=/dev/console
say() { echo "vmtest: $*" > $OUT; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
say "userspace up at $(uptime_s)s (kernel $(uname -r))"

fail=0
load() {
  # shellcheck disable=SC2046
  modprobe "$1" $(cat "/etc/modopts/$1" 2>/dev/null) || { say "modprobe $1 failed"; fail=1; }
}
load vivid
load v4l2loopback
load gpio-sim
mount -t configfs none /sys/kernel/config || { say "mount configfs failed"; fail=1; }
# devtmpfs creates the nodes asynchronously
i=0
while { [ ! -e /dev/video0 ] || [ ! -e /dev/video10 ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
say "drivers loaded at $(uptime_s)s: $(ls /dev | grep -E '^(video|gpiochip)' | tr '\n' ' ')"
dmesg | grep -iE 'gpio-sim|v4l2loopback|taint|error|fail' | grep -v 'module verification failed' | head -20 > $OUT

cd /tmp
ARGS=$(cat /etc/vmtest.args 2>/dev/null)
export VMTEST=1 VMTEST_ARTIFACTS=/tmp/artifacts VMTEST_DATA=/data
mkdir -p $VMTEST_ARTIFACTS
# Remove gpio-sim chips a test binary left behind (periph sees the chips that
# exist when the next one calls host.Init; duplicate line names would clash).
simclean() {
  for c in /sys/kernel/config/gpio-sim/*/; do
    [ -d "$c" ] || continue
    echo 0 > "$c/live" 2>/dev/null
    for l in "$c"bank*/line*; do rmdir "$l" 2>/dev/null; done
    for b in "$c"bank*; do rmdir "$b" 2>/dev/null; done
    rmdir "$c" 2>/dev/null
  done
}
rc=0
if [ $fail = 0 ]; then
  for t in /tests/*.test; do
    say "running $t"
    # shellcheck disable=SC2086
    $t $ARGS > $OUT 2>&1
    r=$?
    say "$t exit $r at $(uptime_s)s"
    # the next binary gets fresh gpio-sim chips and a fresh v4l2loopback
    simclean
    rmmod v4l2loopback 2>/dev/null && load v4l2loopback
    [ $r != 0 ] && rc=$r
  done
else
  rc=99
fi
if [ -n "$(ls $VMTEST_ARTIFACTS)" ]; then
  { echo VMTEST-ARTIFACTS-BEGIN; tar -c -C $VMTEST_ARTIFACTS . | gzip | base64; echo VMTEST-ARTIFACTS-END; } > $OUT
fi
echo "VMTEST-EXIT=$rc" > $OUT
sync
poweroff -f
