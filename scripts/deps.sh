#!/usr/bin/env bash
# deps.sh — the Debian packages alphad's tests, demo and CI need, in groups.
# The one list: .ci/run, `make test` (make deps) and `make demo` use it.
#
#   scripts/deps.sh ensure GROUP...   as root: install what the groups lack;
#                                     else print the apt command; exit 1 if
#                                     anything is still missing
#   scripts/deps.sh install GROUP...  install what the groups lack (root), or fail
#   scripts/deps.sh missing GROUP...  print the groups that lack a package
#   scripts/deps.sh apt GROUP...      print the apt-get command for the groups
#   scripts/deps.sh summary FILE      one line naming the groups tests skipped
#                                     for (FILE: $ALPHAD_SKIPS lines written by
#                                     internal/testshared) and how to enable them
#   scripts/deps.sh groups            list the groups
#
# GROUP "test" stands for the groups make test needs ($TEST_GROUPS), "ci" for
# those CI installs ($CI_GROUPS). Groups marked optional are installed only
# when named. ALPHAD_DEPS_INSTALL=no: ensure never installs (to run make test
# as root without some group, e.g. without libxnnpack-dev).
#
# To add a group: one line in GROUP_PKGS and one in GROUP_WHY; add it to
# TEST_GROUPS if make test should install it; if tests skip without it,
# name it in internal/testshared (Group constants; a test checks that every
# package group there is listed here).
set -euo pipefail

declare -A GROUP_PKGS=(
  [xnnpack]="libxnnpack-dev libpthreadpool-dev"
  [mqtt]="mosquitto mosquitto-clients"
  [systemd]="systemd"
  [oracle]="nodejs npm"
  [time]="time"
  [browser]="chromium"
  [qemu]="qemu-user"
  [sqlite]="sqlite3"
)
declare -A GROUP_WHY=(
  [xnnpack]="the xnnpack engine (compiled in when its headers are installed) and its tests"
  [mqtt]="MQTT tests against a real mosquitto; make demo"
  [systemd]="systemd-analyze: the unit's hardening and syntax (systemd/unit_test.go)"
  [oracle]="node and npm: the real TFLite runtime as the test oracle (make oracle)"
  [time]="GNU time (/usr/bin/time -v) for the README's peak-RSS figures"
  [browser]="headless chromium: the web app tests (internal/web, driven by chromedp)"
  [qemu]="qemu-user: the native engine's conformance on arm64 (make test) and armv7 (make cross-test)"
  [sqlite]="sqlite3: docs/store.md's queries run on a state database (pipeline/store)"
)
GROUPS_ORDER=(xnnpack mqtt systemd oracle time browser qemu sqlite)
TEST_GROUPS="xnnpack mqtt systemd oracle browser qemu sqlite"
CI_GROUPS="$TEST_GROUPS time"
# Packages present when their command is on PATH, whatever installed them
# (the machine image may bring node and npm from elsewhere than Debian).
declare -A PKG_CMD=([nodejs]=node [npm]=npm)

die() { echo "deps: $*" >&2; exit 2; }

# groups expands "test"/"ci" (check_groups has checked the names).
groups() {
  local g
  for g in "$@"; do
    case $g in
      test) printf '%s\n' $TEST_GROUPS ;;
      ci) printf '%s\n' $CI_GROUPS ;;
      *) echo "$g" ;;
    esac
  done | awk '!seen[$0]++'
}

check_groups() {
  local g
  (($#)) || die "no group named (groups: ${GROUPS_ORDER[*]}, test, ci)"
  for g in "$@"; do
    case $g in
      test | ci) ;;
      *) [ -n "${GROUP_PKGS[$g]:-}" ] || die "unknown group $g (groups: ${GROUPS_ORDER[*]}, test, ci)" ;;
    esac
  done
}

ARCH=$(dpkg --print-architecture 2>/dev/null || echo "")

# present PKG: installed for this architecture (an arm64 cross-build install
# of libxnnpack-dev:arm64 replaces the native package, which must then come
# back), or its command is on PATH.
present() {
  local p=$1
  if [ -n "${PKG_CMD[$p]:-}" ]; then
    command -v "${PKG_CMD[$p]}" >/dev/null
    return
  fi
  [ -n "$ARCH" ] && dpkg-query -W -f='${Status}' "$p:$ARCH" 2>/dev/null | grep -q "install ok installed"
}

# lacking GROUP...: the packages not present, one a line.
lacking() {
  local g p
  for g in $(groups "$@"); do
    for p in ${GROUP_PKGS[$g]}; do present "$p" || echo "$p"; done
  done | awk '!seen[$0]++'
}

apt_cmd() { # PKG...
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo "
  echo "${sudo}apt-get install $*"
}

install_pkgs() { # PKG...
  local p spec=()
  for p in "$@"; do
    if [ -n "${PKG_CMD[$p]:-}" ] || [ -z "$ARCH" ]; then spec+=("$p"); else spec+=("$p:$ARCH"); fi
  done
  echo "deps: installing ${spec[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${spec[@]}" >/dev/null
  # mosquitto's package may start a system broker; the tests start their own on free ports.
}

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

cmd=${1:-}
shift || true
case $cmd in
  missing | apt | install | ensure) check_groups "$@" ;;
esac
case $cmd in
  groups)
    for g in "${GROUPS_ORDER[@]}"; do
      printf '%-8s %-34s %s\n' "$g" "${GROUP_PKGS[$g]}" "${GROUP_WHY[$g]}"
    done
    echo "test = $TEST_GROUPS; ci = $CI_GROUPS"
    ;;
  missing)
    for g in $(groups "$@"); do
      [ -z "$(lacking "$g")" ] || echo "$g"
    done
    ;;
  apt)
    mapfile -t pkgs < <(for g in $(groups "$@"); do printf '%s\n' ${GROUP_PKGS[$g]}; done)
    apt_cmd "${pkgs[@]}"
    ;;
  install | ensure)
    mapfile -t need < <(lacking "$@")
    ((${#need[@]})) || exit 0
    if [ "${ALPHAD_DEPS_INSTALL:-yes}" != no ] && can_install; then
      install_pkgs "${need[@]}"
      exit 0
    fi
    [ "$cmd" = ensure ] || die "cannot install ${need[*]} (not root, or no apt-get): $(apt_cmd "${need[@]}")"
    why=" (not root)"
    [ "${ALPHAD_DEPS_INSTALL:-yes}" != no ] || why=" (ALPHAD_DEPS_INSTALL=no)"
    echo "deps: not installed$why: ${need[*]}; to install: $(apt_cmd "${need[@]}")" >&2
    exit 1
    ;;
  summary)
    file=${1:-}
    [ -n "$file" ] || die "summary needs the skips file"
    if [ ! -s "$file" ]; then
      echo "make test: every test group ran (no test skipped for a missing tool or data)"
      exit 0
    fi
    # group<TAB>test<TAB>reason lines -> "mqtt (12 tests)"; apt packages of the known groups.
    # (a test skipped in both the plain and the -race pass counts once)
    mapfile -t counts < <(cut -f1,2 "$file" | sort -u | cut -f1 | uniq -c | awk '{printf "%s %d\n", $2, $1}')
    parts=() pkgs=() other=()
    for line in "${counts[@]}"; do
      g=${line% *} n=${line##* }
      s=s; [ "$n" = 1 ] && s=
      parts+=("$g ($n test$s)")
      if [ -n "${GROUP_PKGS[$g]:-}" ]; then
        read -ra p <<<"${GROUP_PKGS[$g]}"
        pkgs+=("${p[@]}")
      else
        # not a package group: its first reason says what to do
        other+=("$g: $(awk -F'\t' -v g="$g" '$1 == g {print $3; exit}' "$file")")
      fi
    done
    joined=$(IFS=,; echo "${parts[*]}")
    msg="make test: SKIPPED ${joined//,/, }"
    ((${#pkgs[@]})) && msg+=" — to run them: $(apt_cmd "${pkgs[@]}")"
    ((${#other[@]})) && msg+=" — $(IFS=';'; echo "${other[*]}")"
    echo "$msg (details: $file)"
    ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
