package daemon

// ExampleConfig is a complete, commented configuration with every default
// spelled out (`alphad config example`). Its test checks it parses to
// DefaultConfig apart from the fields it turns on.
const ExampleConfig = `# alphad configuration — every key with its default.
# Check a file with: alphad config check /etc/alphad/alphad.yaml
version: 1             # the configuration format; this build reads 1

# Where samples, embeddings and model versions live. Empty: /var/lib/alphad
# as root (the systemd unit), else $XDG_STATE_HOME/alphad. Env: ALPHAD_STATE_DIR.
state_dir: ""

log:
  level: info            # debug, info, warn, error

camera:
  # v4l2:/dev/video0?width=640&height=480&fps=15&format=yuyv   USB webcam
  # libcamera:?width=640&height=480&fps=15                     Pi CSI camera (rpicam-vid)
  # dir:/path/to/images?fps=5&loop=true                         a folder of images
  # mjpeg:/path/to/stream.mjpeg   image:/path/to/photo.jpg
  source: v4l2:/dev/video0?width=640&height=480&fps=15
  crop: center           # center (square, like Teachable Machine), full, or roi
  roi: []                # with crop: roi, [x, y, w, h] as fractions, e.g. [0.25, 0.1, 0.5, 0.5]
  mirror: false          # flip left-right (Teachable Machine's webcam preview is mirrored)
  rotate: 0              # turn clockwise 0, 90, 180, 270 (a camera mounted on its side); before mirror and crop
  # crop, mirror and rotate set in the web app's Camera page (or the set command) override these
  max_fps: 0             # cap the frame rate; 0 = as the camera delivers
  infer_every: 1         # run the model on every Nth frame
  retry: 2s              # pause before reopening a failed camera

model:
  path: ""               # a .tflite; empty = the state directory's current model
  labels: ""             # labels.txt (plain or Teachable Machine "0 name" format)
  engine: auto           # auto (xnnpack when compiled in, else native), native, xnnpack
  threads: 1             # inference threads (the native and xnnpack engines)
  backbone: mobilenet_v2_1.0_224_quant   # what training starts from on a fresh device (alphad model pull)
  mirror: ""             # where "alphad model pull" downloads from; empty = the official URL

smoothing:
  mode: average          # none, average (moving average of scores), majority (vote)
  window: 5              # frames
  threshold: 0.6         # below this confidence the label is "unknown"
  hysteresis: 0.05       # a new label must beat the current one by this much
  min_dwell: 0s          # a new label must win this long before it is reported

recording:
  rate: 5                # samples saved per second while a class button is held
  max_burst: 200         # samples per burst at most
  max_time: 1m0s         # a burst stops after this long

training:                # defaults for training started by the button or MQTT
  epochs: 50             # at most (early stopping may end sooner)
  batch_size: 16         # samples per gradient step
  learning_rate: 0.001   # Adam's step size
  validation: 0.15       # fraction held out for validation accuracy
  hidden: 100            # hidden units of the head; 0 = softmax regression
  keep_versions: 5       # model versions kept for rollback
  augmentation: flip     # extra views per sample: none, flip (2 embeddings), crops (flip + 2 crops: 4)
  seed: 1                # training is deterministic for a seed
  patience: 10           # early stopping after this many epochs without progress; 0 = off
  class_weights: true    # weigh classes inversely to their size
  l2: 0.01               # weight decay
  label_smoothing: 0.1   # soften the one-hot targets: less over-confident heads
  dropout: 0             # on the hidden layer
  refit: true            # after validation, retrain on all samples for the best epoch count
  ensemble: 3            # heads trained and merged into one (0 or 1 = one head)
  calibrate: true        # temperature scaling: probabilities that mean what they say
  prototypes: 2          # nearest-class-mean blend below 20 samples per class (weight·((20/n)³−1)); 0 = off
  threads: 0             # engines embedding in parallel while training (model.engine); 0 = one per CPU

panel:                   # GPIO buttons and status LED (see firmware-config/README.md)
  enabled: false         # off: no GPIO is touched
  buttons:
    - name: class1
      pin: GPIO17
      action: class:class1   # hold = record while held, press = one sample
    - name: class2
      pin: GPIO22
      action: class:class2
    - name: train
      pin: GPIO23
      action: train          # press = train, long press = undo the last burst
  led:
    pin: GPIO27
    active_low: false
    idle: heartbeat          # or off
  debounce: 30ms
  hold_after: 500ms
  long_press: 2s
  double_window: 300ms

mqtt:
  broker: ""             # mqtt://host:1883, mqtts://host:8883, ws://host:9001; empty = off
  device_id: ""          # default: the host name
  client_id: ""          # default: alphad-<device_id>
  username: ""           # broker login
  password: ""           # or password_file, or env ALPHAD_MQTT_PASSWORD
  password_file: ""      # a file holding the password (first line)
  ca_file: ""            # PEM CA for mqtts:// (default: the system's roots)
  cert_file: ""          # client certificate (PEM) for mutual TLS
  key_file: ""           # its private key (PEM)
  insecure_skip_verify: false  # do not check the broker's certificate (testing only)
  qos: 1                 # of state, events, discovery, answers (0, 1 or 2)
  topic_prefix: ""       # default: alphad/<device_id>
  discovery: true        # Home Assistant MQTT discovery
  discovery_prefix: homeassistant  # Home Assistant's discovery topic prefix
  commands: true         # accept commands under <prefix>/cmd/...
  disabled_commands: []  # commands answered with an error, e.g. [train, rollback]
  keep_alive: 30s        # MQTT keep-alive
  connect_timeout: 10s   # one connection attempt at most
  reconnect_min: 1s      # first wait before reconnecting (doubles up to reconnect_max)
  reconnect_max: 2s      # longest wait between reconnects
  state_interval: 1s     # the state at most this often (label changes at once)
  diagnostics_interval: 1m0s  # diagnostics this often (and at once on a change)
  queue_size: 64         # events kept while offline
  image_interval: 0s     # publish what the camera sees (JPEG, <prefix>/image, a Home Assistant image) at most this often; 0s = off (privacy)

hooks: []                # run on label changes, e.g.:
# - name: notify
#   labels: [open]        # only changes to these labels; empty = all
#   command: [/usr/local/bin/door-open.sh]   # gets ALPHAD_LABEL, ALPHAD_CONFIDENCE, ... in its env
#   shell: false
#   url: http://127.0.0.1:8123/api/webhook/garage   # JSON POST of the event
#   timeout: 10s
#   retries: 2
#   cooldown: 1m

http:
  listen: :9464 # the web app, Prometheus /metrics and /healthz, on every interface; 127.0.0.1:9464: this machine only; empty = off
  tls_cert: "" # PEM certificate and key (both or neither): serve HTTPS
  tls_key: ""
  metrics_auth: false # true: /metrics needs a web session too

ui:
  stream_fps: 5 # the web app's live view (MJPEG), while a page watches

images:                  # every image decoded: uploads, dataset imports, dir: and image: cameras, camera frames
  max_pixels: 24000000   # width × height (a 6000×4000 photo); checked from the header, before decoding
  max_side: 16384        # pixels per side
  max_file_mb: 64        # encoded size

review:
  size: 200              # unsure frames kept for review (oldest dropped); 0 = off
  interval: 10s          # at most one per interval (one per 10 intervals while one unknown stretch lasts)

# Share models (and, opt-in, samples) with other alphad devices over the
# MQTT broker: see docs/fleet.md. Off while group is empty.
fleet:
  group: ""              # alphad/fleet/<group>/…
  adopt: false           # install the group's signed model publications
  signing_key: ""        # private key file (alphad fleet keygen --out FILE): lets this device publish
  trusted_keys: []       # public keys ("ed25519:…" or FILE.pub) whose publications are adopted
  share_samples: false   # publish every recorded sample (image, class, device id) to the group: privacy!
  trainer: false         # store the group's shared samples, train on them, publish the result
  train_every: 0s        # trainer: train this often when new samples came (0 = on the train command)
`
