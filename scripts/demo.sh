#!/usr/bin/env bash
# alphad in five minutes: teach a fresh device rock and paper, train in the
# running daemon over MQTT and watch its predictions on held-out frames.
#
#   make demo                 (builds bin/alphad first)
#   DEMO_SECONDS=60 scripts/demo.sh
#
# Everything runs locally: a private mosquitto on a free port, a temporary
# state directory, a directory "camera" over ../shared/datasets/rps_picam.
# Needs mosquitto and mosquitto-clients (scripts/deps.sh group mqtt); run
# as root it installs them itself.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/alphad}
SHARED=$(cd "${ALPHAD_SHARED:-../shared}" 2>/dev/null && pwd) || { echo "demo: shared data not found (set ALPHAD_SHARED)" >&2; exit 1; }
DEMO_SECONDS=${DEMO_SECONDS:-30}
RPS=$SHARED/datasets/rps_picam
PER_CLASS=${PER_CLASS:-20}

bold() { printf '\033[1m%s\033[0m\n' "$*"; }

[ -x "$BIN" ] || { echo "demo: $BIN not built (make build)" >&2; exit 1; }
if ! command -v mosquitto >/dev/null && ! [ -x /usr/sbin/mosquitto ] || ! command -v mosquitto_sub >/dev/null; then
  # installs them as root; else says what to install
  scripts/deps.sh ensure mqtt || { echo "demo: needs a local MQTT broker and client" >&2; exit 1; }
fi
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

work=$(mktemp -d /tmp/alphad-demo.XXXXXX)
pids=()
cleanup() {
  trap - EXIT INT TERM
  # Reverse order: the daemon publishes offline before the broker goes.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free port for the broker.
port=0
for _ in $(seq 50); do
  p=$((20000 + RANDOM % 20000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ "$port" != 0 ] || { echo "demo: no free port" >&2; exit 1; }

cat >"$work/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence false
log_dest none
EOF
"$MOSQUITTO" -c "$work/mosquitto.conf" &
pids+=($!)
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

# Teaching set: the first PER_CLASS rock and paper photos. Camera: held-out
# photos (from the 60th on), in blocks of 6 rock, 6 paper, 6 rock, ...
mkdir -p "$work/teach/rock" "$work/teach/paper" "$work/camera"
mapfile -t rock < <(ls "$RPS/rock" | sort)
mapfile -t paper < <(ls "$RPS/paper" | sort)
for i in $(seq 0 $((PER_CLASS - 1))); do
  ln -s "$RPS/rock/${rock[$i]}" "$work/teach/rock/"
  ln -s "$RPS/paper/${paper[$i]}" "$work/teach/paper/"
done
n=0
for block in 0 1 2 3; do
  for j in $(seq 0 5); do
    k=$((60 + block * 6 + j))
    printf -v name '%03d' $n; ln -s "$RPS/rock/${rock[$k]}" "$work/camera/$name-rock.png"; n=$((n + 1))
  done
  for j in $(seq 0 5); do
    k=$((60 + block * 6 + j))
    printf -v name '%03d' $n; ln -s "$RPS/paper/${paper[$k]}" "$work/camera/$name-paper.png"; n=$((n + 1))
  done
done

cat >"$work/alphad.yaml" <<EOF
version: 1
log:
  level: warn
camera:
  source: dir:$work/camera?fps=4&loop=true
smoothing:
  window: 3
training:
  epochs: 30
mqtt:
  broker: mqtt://127.0.0.1:$port
  device_id: demo
  state_interval: 0s
http:
  listen: 127.0.0.1:0
EOF
state="$work/state"
A=("$BIN" --state-dir "$state")

bold "alphad demo — $("$BIN" version | head -1)"
echo "  broker     mosquitto on 127.0.0.1:$port (temporary)"
echo "  state dir  $state (empty: a fresh device)"
echo "  camera     $work/camera: held-out rock/paper photos, 4 fps, blocks of 6"
echo "  runs for   ${DEMO_SECONDS}s (DEMO_SECONDS)"
echo

bold "1. install the backbone (offline: alphad model pull --mirror)"
"${A[@]}" model pull --mirror "$SHARED/models/mobilenet_v2_1.0_224_quant.tflite" 2>/dev/null
bold "2. teach: $PER_CLASS photos each of rock and paper (alphad dataset import)"
"${A[@]}" dataset import "$work/teach" 2>&1 >/dev/null | tail -1

bold "3. start the daemon (no model yet) and a subscriber on alphad/demo/#"
mkfifo "$work/sub"
mosquitto_sub -h 127.0.0.1 -p "$port" -v -t 'alphad/demo/state' -t 'alphad/demo/training/#' -t 'alphad/demo/result' >"$work/sub" &
pids+=($!)
while read -r topic payload; do
    field() { [[ $payload =~ \"$1\":\"?([^,\"}]*) ]] && printf '%s' "${BASH_REMATCH[1]}"; }
    case $topic in
      */state)
        label=$(field label); [ -n "$label" ] || label="(unknown)"
        printf '  frame %-4s %-10s %5.2f  model %s\n' "$(field seq)" "$label" "$(field confidence)" "$(field model_version)" ;;
      */training/progress) printf '  training epoch %s/%s  accuracy %.3f\n' "$(field epoch)" "$(field epochs)" "$(field accuracy)" ;;
      */training/result) printf '  training done: ok=%s model %s, validation accuracy %s\n' "$(field ok)" "$(field model_version)" "$(field validation_accuracy)" ;;
      */result) printf '  command %s: ok=%s %s%s\n' "$(field command)" "$(field ok)" "$(field message)" "$(field error)" ;;
    esac
done <"$work/sub" &
pids+=($!)
"${A[@]}" run --config "$work/alphad.yaml" &
daemon=$!
pids+=($daemon)
sleep 1.5

bold "4. train in the running daemon: mosquitto_pub -t alphad/demo/cmd/train"
mosquitto_pub -h 127.0.0.1 -p "$port" -t alphad/demo/cmd/train -m '{"request_id":"demo"}'

sleep "$DEMO_SECONDS" || true
bold "5. stopping (SIGTERM: offline published, camera closed)"
kill -TERM "$daemon" 2>/dev/null || true
wait "$daemon" 2>/dev/null || true
sleep 0.3
echo "done. Try it on a Pi: alphad run --config /etc/alphad/alphad.yaml"
