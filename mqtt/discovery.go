package mqtt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"strings"

	"github.com/alphad/alphad/internal/control"
)

// Origin describes the software in Home Assistant's device page.
type Origin struct {
	Name    string // default "alphad"
	Version string
	URL     string // default https://github.com/alphad/alphad
}

// topics are the MQTT topics of one device.
type topics struct {
	availability, state, event, settings, diagnostics string
	progress, trainResult, result, image              string
	cmdPrefix, cmdFilter                              string
	haStatus, discovery                               string
}

func newTopics(cfg Config) topics {
	p := cfg.TopicPrefix
	return topics{
		availability: p + "/availability",
		state:        p + "/state",
		event:        p + "/event",
		settings:     p + "/settings",
		diagnostics:  p + "/diagnostics",
		progress:     p + "/training/progress",
		trainResult:  p + "/training/result",
		result:       p + "/result",
		image:        p + "/image",
		cmdPrefix:    p + "/cmd/",
		cmdFilter:    p + "/cmd/+",
		haStatus:     cfg.DiscoveryPrefix + "/status",
		discovery:    cfg.DiscoveryPrefix + "/device/" + objectID(cfg.DeviceID) + "/config",
	}
}

// objectID is the device's discovery object id and unique-id stem
// (DeviceID is already limited to [A-Za-z0-9_-]).
func objectID(deviceID string) string { return "alphad_" + deviceID }

// slug turns a name into [a-z0-9_]; names that change on the way get a
// hash suffix so that "Rock" and "rock" stay distinct.
func slug(name string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			under = false
		} else if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	s := strings.TrimSuffix(b.String(), "_")
	if s == name && s != "" {
		return s
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	if s == "" {
		return fmt.Sprintf("x%08x", h.Sum32())
	}
	return fmt.Sprintf("%s_%08x", s, h.Sum32())
}

// jinjaString quotes s as a Jinja string literal.
func jinjaString(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(buf.String(), "\n")
}

type component map[string]any

// discoveryPayload builds the device-based discovery message for the
// classes, with platform-only entries for the removed ones (which tells
// Home Assistant to delete those entities).
func discoveryPayload(cfg Config, t topics, o Origin, configURL string, classes, removed []string) ([]byte, error) {
	id := objectID(cfg.DeviceID)
	uid := func(key string) string { return id + "_" + key }
	if o.Name == "" {
		o.Name = "alphad"
	}
	if o.URL == "" {
		o.URL = "https://github.com/alphad/alphad"
	}
	cmps := map[string]component{}
	add := func(key, platform string, c component) {
		c["p"] = platform
		c["unique_id"] = uid(key)
		cmps[key] = c
	}
	// Home Assistant rejects an empty options list ("An empty options
	// list is not allowed"): without classes the label sensor is a plain
	// sensor and the teach select is left out (or removed).
	label := component{
		"name":           "Label",
		"icon":           "mdi:label-outline",
		"state_topic":    t.state,
		"value_template": "{{ value_json.label if value_json.label else 'None' }}",
	}
	if len(classes) > 0 {
		label["device_class"] = "enum"
		label["options"] = classes
	}
	add("label", "sensor", label)
	add("confidence", "sensor", component{
		"name":                        "Confidence",
		"unit_of_measurement":         "%",
		"state_class":                 "measurement",
		"suggested_display_precision": 0,
		"state_topic":                 t.state,
		"value_template":              "{{ (value_json.confidence * 100) | round(1) if value_json.confidence is not none else none }}",
	})
	add("label_change", "event", component{
		"name":        "Label change",
		"event_types": []string{"label_changed"},
		"state_topic": t.event,
	})
	for _, c := range classes {
		s := slug(c)
		add("class_"+s, "binary_sensor", component{
			"name":           "Class " + c,
			"state_topic":    t.state,
			"value_template": "{{ 'ON' if value_json.label == " + jinjaString(c) + " else 'OFF' }}",
		})
		add("samples_"+s, "sensor", component{
			"name":            "Samples " + c,
			"entity_category": "diagnostic",
			"state_class":     "measurement",
			"icon":            "mdi:image-multiple",
			"state_topic":     t.diagnostics,
			"value_template":  "{{ value_json.samples_per_class[" + jinjaString(c) + "] | default(0) }}",
		})
	}
	for _, c := range removed {
		if slices.Contains(classes, c) {
			continue
		}
		s := slug(c)
		cmps["class_"+s] = component{"p": "binary_sensor"}
		cmps["samples_"+s] = component{"p": "sensor"}
	}
	if cfg.Commands {
		enabled := func(name string) bool { return !slices.Contains(cfg.DisabledCommands, name) }
		if enabled(CmdTeach) && len(classes) > 0 {
			add("teach_class", "select", component{
				"name":             "Teach class",
				"icon":             "mdi:school-outline",
				"options":          classes,
				"command_topic":    t.cmdPrefix + CmdTeach,
				"command_template": `{"label": {{ value | tojson }}}`,
				"state_topic":      t.settings,
				"value_template":   "{{ value_json.teach_class }}",
			})
		} else if enabled(CmdTeach) && len(removed) > 0 {
			cmps["teach_class"] = component{"p": "select"}
		}
		if enabled(CmdTeach) {
			// Names a class to teach (teach creates it when new): the
			// select above lists existing classes only.
			add("new_class", "text", component{
				"name":             "New class",
				"icon":             "mdi:tag-plus-outline",
				"min":              1,
				"max":              64,
				"command_topic":    t.cmdPrefix + CmdTeach,
				"command_template": `{"label": {{ value | tojson }}}`,
			})
		}
		// Deleting a class takes its name typed out (Home Assistant's
		// text entity, its pattern limited to the existing classes): a
		// select would delete on a mere pick, a button would need one.
		if enabled(control.DeleteClass) && len(classes) > 0 {
			alts := make([]string, len(classes))
			for i, c := range classes {
				alts[i] = regexp.QuoteMeta(c)
			}
			add("delete_class", "text", component{
				"name":             "Delete class",
				"icon":             "mdi:tag-remove-outline",
				"entity_category":  "config",
				"min":              1,
				"max":              64,
				"pattern":          "^(?:" + strings.Join(alts, "|") + ")$",
				"command_topic":    t.cmdPrefix + control.DeleteClass,
				"command_template": `{"label": {{ value | tojson }}}`,
			})
		} else if enabled(control.DeleteClass) && len(removed) > 0 {
			cmps["delete_class"] = component{"p": "text"}
		}
		buttons := []struct{ cmd, name, icon string }{
			{CmdCapture, "Capture", "mdi:camera"},
			{CmdTrain, "Train", "mdi:brain"},
			{CmdUndo, "Undo", "mdi:undo"},
			{CmdCancelTraining, "Cancel training", "mdi:cancel"},
		}
		for _, b := range buttons {
			if enabled(b.cmd) {
				add(b.cmd, "button", component{
					"name":          b.name,
					"icon":          b.icon,
					"command_topic": t.cmdPrefix + b.cmd,
					"payload_press": "{}",
				})
			}
		}
		if enabled(CmdThreshold) {
			add("threshold", "number", component{
				"name":             "Threshold",
				"icon":             "mdi:tune-vertical",
				"entity_category":  "config",
				"min":              0,
				"max":              1,
				"step":             0.01,
				"mode":             "slider",
				"command_topic":    t.cmdPrefix + CmdThreshold,
				"command_template": `{"threshold": {{ value }}}`,
				"state_topic":      t.settings,
				"value_template":   "{{ value_json.threshold }}",
			})
		}
		// The answer to the last command: "ok" or the message, or the
		// error (Home Assistant states are at most 255 characters).
		add("last_result", "sensor", component{
			"name":                  "Last command result",
			"icon":                  "mdi:message-reply-text-outline",
			"state_topic":           t.result,
			"value_template":        "{{ ((value_json.message | default('ok')) if value_json.ok else ('error: ' ~ value_json.error))[:255] }}",
			"json_attributes_topic": t.result,
		})
	}
	add("training_progress", "sensor", component{
		"name":                        "Training progress",
		"icon":                        "mdi:progress-clock",
		"unit_of_measurement":         "%",
		"suggested_display_precision": 0,
		"state_topic":                 t.progress,
		"value_template":              "{{ value_json.percent | round(1) }}",
		"json_attributes_topic":       t.progress,
	})
	add("training_result", "sensor", component{
		"name":                  "Training result",
		"icon":                  "mdi:school",
		"device_class":          "enum",
		"options":               []string{"ok", "failed"},
		"state_topic":           t.trainResult,
		"value_template":        "{{ 'ok' if value_json.ok else 'failed' }}",
		"json_attributes_topic": t.trainResult,
	})
	if cfg.ImageInterval > 0 {
		// What the camera sees (the model's input), at most every
		// image_interval; off by default (privacy).
		add("camera_image", "image", component{
			"name":         "Camera",
			"image_topic":  t.image,
			"content_type": "image/jpeg",
		})
	}
	add("camera_problem", "binary_sensor", component{
		"name":            "Camera problem",
		"device_class":    "problem",
		"entity_category": "diagnostic",
		"state_topic":     t.diagnostics,
		"value_template":  "{% set c = value_json.camera | default('') %}{{ 'None' if c == '' else ('OFF' if c == 'ok' else 'ON') }}",
	})
	diag := []struct {
		key, name, unit, class, stateClass, tmpl string
	}{
		{"fps", "Frame rate", "fps", "", "measurement", "{{ value_json.fps | round(1) }}"},
		{"inference_ms", "Inference time", "ms", "duration", "measurement", "{{ value_json.inference_ms | round(1) }}"},
		{"dropped_frames", "Dropped frames", "", "", "total_increasing", "{{ value_json.dropped_frames }}"},
		{"model_version", "Model version", "", "", "", "{{ value_json.model_version }}"},
		{"validation_accuracy", "Validation accuracy", "%", "", "measurement",
			"{{ (value_json.validation_accuracy * 100) | round(1) if value_json.validation_accuracy is not none else none }}"},
		{"uptime", "Uptime", "", "timestamp", "", "{{ value_json.started_at }}"},
		{"camera", "Camera", "", "", "", "{{ value_json.camera | default('unknown') }}"},
	}
	for _, d := range diag {
		c := component{
			"name":            d.name,
			"entity_category": "diagnostic",
			"state_topic":     t.diagnostics,
			"value_template":  d.tmpl,
		}
		if d.unit != "" {
			c["unit_of_measurement"] = d.unit
		}
		if d.class != "" {
			c["device_class"] = d.class
		}
		if d.stateClass != "" {
			c["state_class"] = d.stateClass
		}
		add(d.key, "sensor", c)
	}
	dev := map[string]any{
		"ids":  []string{id},
		"name": "alphad " + cfg.DeviceID,
		"mf":   "alphad",
		"mdl":  "alphad camera classifier",
	}
	if o.Version != "" {
		dev["sw"] = o.Version
	}
	if configURL != "" {
		dev["cu"] = configURL
	}
	msg := map[string]any{
		"dev": dev,
		"o": map[string]any{
			"name": o.Name,
			"sw":   o.Version,
			"url":  o.URL,
		},
		"availability": []map[string]string{{
			"topic":                 t.availability,
			"payload_available":     payloadOnline,
			"payload_not_available": payloadOffline,
		}},
		"qos":  cfg.QoS,
		"cmps": cmps,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(msg); err != nil {
		return nil, fmt.Errorf("mqtt: encode discovery: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

const (
	payloadOnline  = "online"
	payloadOffline = "offline"
)
