package mqtt_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/alphad/alphad/mqtt"
	"github.com/alphad/alphad/mqtt/mqtttest"
)

// validateDiscovery checks a device-based discovery payload against the
// rules Home Assistant's MQTT integration enforces (homeassistant/
// components/mqtt: abbreviations.py, device discovery in discovery.py,
// the PLATFORM_SCHEMA of sensor, binary_sensor, select, button, number,
// text and event, and sensor's validate_sensor_state_and_device_class_config):
//   - dev has ids; configuration_url (cu) is an http(s) URL; o has name.
//   - every component has p; a component that is only {"p": …} removes
//     an entity; any other needs unique_id.
//   - sensor: options only with device_class enum, and then non-empty,
//     without unit_of_measurement or state_class; timestamp has neither
//     unit nor state_class; duration needs a unit of s, ms, min, h or d.
//   - select: command_topic and non-empty options; button, number, text:
//     command_topic; binary_sensor and sensor: state_topic; event:
//     state_topic and non-empty event_types; text: 0 ≤ min ≤ max ≤ 255.
//   - entity_category is config or diagnostic; a sensor cannot be config.
//   - text: pattern a valid regular expression (cv.is_regex), mode text
//     or password; number: min < max, step ≥ 0.001, mode auto, box or
//     slider; button: payload_press a string.
//   - device_class from the platform's list (sensor: the ones used here
//     plus common ones; binary_sensor: problem, …); sensor state_class
//     measurement, total or total_increasing.
//   - templates (value_template, command_template) have balanced {{ }} and
//     {% %}; unique ids are unique across the device; qos is 0, 1 or 2;
//     availability entries have a topic.
//
// It returns every violation.
func validateDiscovery(payload []byte) []string {
	var msg struct {
		Dev          map[string]any            `json:"dev"`
		O            map[string]any            `json:"o"`
		Cmps         map[string]map[string]any `json:"cmps"`
		QoS          *float64                  `json:"qos"`
		Availability []map[string]any          `json:"availability"`
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if err := json.Unmarshal(payload, &msg); err != nil {
		return []string{err.Error()}
	}
	if ids, _ := msg.Dev["ids"].([]any); len(ids) == 0 {
		bad("dev: ids required")
	}
	if cu, ok := msg.Dev["cu"]; ok {
		s, _ := cu.(string)
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("dev: configuration_url %q is not an http(s) URL", s)
		}
	}
	if name, _ := msg.O["name"].(string); name == "" {
		bad("o: name required")
	}
	if len(msg.Cmps) == 0 {
		bad("cmps: empty")
	}
	if msg.QoS != nil && (*msg.QoS < 0 || *msg.QoS > 2 || *msg.QoS != float64(int(*msg.QoS))) {
		bad("qos %v", *msg.QoS)
	}
	for i, a := range msg.Availability {
		if s, _ := a["topic"].(string); s == "" {
			bad("availability[%d]: topic required", i)
		}
	}
	uids := map[string]string{}
	for key, c := range msg.Cmps {
		p, _ := c["p"].(string)
		if p == "" {
			bad("%s: p required", key)
			continue
		}
		if len(c) == 1 {
			continue // removal
		}
		has := func(k string) bool { _, ok := c[k]; return ok }
		str := func(k string) string { s, _ := c[k].(string); return s }
		nonEmptyList := func(k string) bool { l, ok := c[k].([]any); return ok && len(l) > 0 }
		if str("unique_id") == "" {
			bad("%s: unique_id required", key)
		} else if other, dup := uids[str("unique_id")]; dup {
			bad("%s: unique_id %q also used by %s", key, str("unique_id"), other)
		} else {
			uids[str("unique_id")] = key
		}
		for _, k := range []string{"value_template", "command_template"} {
			if tpl := str(k); strings.Count(tpl, "{{") != strings.Count(tpl, "}}") || strings.Count(tpl, "{%") != strings.Count(tpl, "%}") {
				bad("%s: %s %q has unbalanced delimiters", key, k, tpl)
			}
		}
		if sc := str("state_class"); has("state_class") && !slices.Contains([]string{"measurement", "total", "total_increasing"}, sc) {
			bad("%s: state_class %q", key, sc)
		}
		if dc := str("device_class"); has("device_class") {
			known := map[string][]string{
				"sensor":        {"enum", "timestamp", "duration", "temperature", "humidity", "data_size", "frequency", "power", "energy", "voltage"},
				"binary_sensor": {"problem", "connectivity", "motion", "occupancy", "opening", "running", "update"},
				"button":        {"identify", "restart", "update"},
				"event":         {"button", "doorbell", "motion"},
			}
			if !slices.Contains(known[p], dc) {
				bad("%s: %s device_class %q", key, p, dc)
			}
		}
		switch ec := str("entity_category"); {
		case has("entity_category") && ec != "config" && ec != "diagnostic":
			bad("%s: entity_category %q", key, ec)
		case p == "sensor" && ec == "config":
			bad("%s: a sensor cannot have entity_category config", key)
		}
		switch p {
		case "sensor", "binary_sensor", "event":
			if str("state_topic") == "" {
				bad("%s: %s needs state_topic", key, p)
			}
		case "select", "button", "number", "text":
			if str("command_topic") == "" {
				bad("%s: %s needs command_topic", key, p)
			}
		case "image":
			// image: exactly one of url_topic and image_topic; an
			// image_topic carries raw bytes of content_type image/*.
			if (str("url_topic") == "") == (str("image_topic") == "") {
				bad("%s: image needs exactly one of url_topic and image_topic", key)
			}
			if str("image_topic") != "" && !strings.HasPrefix(str("content_type"), "image/") {
				bad("%s: image content_type %q", key, str("content_type"))
			}
		default:
			bad("%s: platform %q not checked by this validator", key, p)
		}
		switch p {
		case "sensor":
			dc := str("device_class")
			if has("options") && dc != "enum" {
				bad("%s: options without device_class enum", key)
			}
			if dc == "enum" {
				if !nonEmptyList("options") {
					bad("%s: enum sensor needs a non-empty options list", key)
				}
				if has("unit_of_measurement") || has("state_class") {
					bad("%s: enum sensor cannot have unit or state_class", key)
				}
			}
			if dc == "timestamp" && (has("unit_of_measurement") || has("state_class")) {
				bad("%s: timestamp sensor cannot have unit or state_class", key)
			}
			if dc == "duration" && !slices.Contains([]string{"s", "ms", "min", "h", "d"}, str("unit_of_measurement")) {
				bad("%s: duration sensor unit %q", key, str("unit_of_measurement"))
			}
		case "select":
			if !nonEmptyList("options") {
				bad("%s: select needs a non-empty options list", key)
			}
		case "event":
			if !nonEmptyList("event_types") {
				bad("%s: event needs event_types", key)
			}
		case "text":
			lo, _ := c["min"].(float64)
			hi, ok := c["max"].(float64)
			if !ok {
				hi = 255
			}
			if lo < 0 || hi > 255 || lo > hi {
				bad("%s: text min %v max %v", key, lo, hi)
			}
			if has("pattern") {
				if _, err := regexp.Compile(str("pattern")); err != nil || str("pattern") == "" {
					bad("%s: text pattern %q is not a regular expression", key, str("pattern"))
				}
			}
			if m := str("mode"); has("mode") && m != "text" && m != "password" {
				bad("%s: text mode %q", key, m)
			}
		case "number":
			lo, _ := c["min"].(float64)
			hi, ok := c["max"].(float64)
			if !ok {
				hi = 100
			}
			if lo >= hi {
				bad("%s: number min %v ≥ max %v", key, lo, hi)
			}
			if st, ok := c["step"].(float64); ok && st < 0.001 {
				bad("%s: number step %v < 0.001", key, st)
			}
			if m := str("mode"); has("mode") && !slices.Contains([]string{"auto", "box", "slider"}, m) {
				bad("%s: number mode %q", key, m)
			}
		case "button":
			if _, ok := c["payload_press"].(string); has("payload_press") && !ok {
				bad("%s: payload_press must be a string", key)
			}
		}
	}
	slices.Sort(errs)
	return errs
}

func TestValidateDiscoveryCatchesHomeAssistantErrors(t *testing.T) {
	for _, tc := range []struct{ name, cmps, want string }{
		{"empty enum", `"l":{"p":"sensor","unique_id":"u","state_topic":"s","device_class":"enum","options":[]}`, "non-empty options"},
		{"empty select", `"s":{"p":"select","unique_id":"u","command_topic":"c","options":[]}`, "select needs"},
		{"options without enum", `"l":{"p":"sensor","unique_id":"u","state_topic":"s","options":["a"]}`, "without device_class enum"},
		{"timestamp unit", `"u":{"p":"sensor","unique_id":"u","state_topic":"s","device_class":"timestamp","unit_of_measurement":"s"}`, "timestamp"},
		{"no unique id", `"b":{"p":"button","command_topic":"c"}`, "unique_id"},
		{"config sensor", `"x":{"p":"sensor","unique_id":"u","state_topic":"s","entity_category":"config"}`, "cannot have entity_category"},
		{"text max", `"t":{"p":"text","unique_id":"u","command_topic":"c","max":300}`, "text min"},
		{"text pattern", `"t":{"p":"text","unique_id":"u","command_topic":"c","pattern":"^(a|b$"}`, "not a regular expression"},
		{"number range", `"n":{"p":"number","unique_id":"u","command_topic":"c","min":1,"max":1}`, "number min"},
		{"duplicate uid", `"a":{"p":"button","unique_id":"u","command_topic":"c"},"b":{"p":"button","unique_id":"u","command_topic":"c"}`, "also used by"},
		{"template", `"s":{"p":"sensor","unique_id":"u","state_topic":"s","value_template":"{{ value_json.x }"}`, "unbalanced"},
		{"binary device class", `"b":{"p":"binary_sensor","unique_id":"u","state_topic":"s","device_class":"broken"}`, "device_class"},
		{"state class", `"s":{"p":"sensor","unique_id":"u","state_topic":"s","state_class":"average"}`, "state_class"},
	} {
		payload := `{"dev":{"ids":["d"],"cu":"http://h:8080/"},"o":{"name":"alphad"},"cmps":{` + tc.cmps + `}}`
		errs := validateDiscovery([]byte(payload))
		if len(errs) != 1 || !strings.Contains(errs[0], tc.want) {
			t.Errorf("%s: errors %q, want one containing %q", tc.name, errs, tc.want)
		}
	}
}

// TestDiscoveryHomeAssistantAccepts checks every discovery payload of a
// device's life: fresh (no classes), with classes, after every class is
// deleted, with commands off.
func TestDiscoveryHomeAssistantAccepts(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	b := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	cfg := testConfig(b.URL)
	c, err := mqtt.New(cfg, deterministic(&recorder{}))
	if err != nil {
		t.Fatal(err)
	}
	sub := mqtttest.Subscribe(t, b.URL, "homeassistant/#")
	runClient(t, c)
	check := func(stage string, want func(cmps map[string]map[string]any) string) {
		t.Helper()
		m := sub.Wait(c.DiscoveryTopic(), 5*time.Second, nil)
		sub.Reset()
		for _, e := range validateDiscovery(m.Payload) {
			t.Errorf("%s: %s", stage, e)
		}
		var msg struct {
			Cmps map[string]map[string]any `json:"cmps"`
		}
		if err := json.Unmarshal(m.Payload, &msg); err != nil {
			t.Fatal(err)
		}
		if e := want(msg.Cmps); e != "" {
			t.Errorf("%s: %s\n%s", stage, e, m.Payload)
		}
	}
	check("fresh", func(cmps map[string]map[string]any) string {
		if _, ok := cmps["teach_class"]; ok {
			return "teach_class select without classes"
		}
		if _, ok := cmps["label"]["options"]; ok {
			return "label options without classes"
		}
		return ""
	})
	c.SetClasses([]string{"rock", "paper"})
	check("with classes", func(cmps map[string]map[string]any) string {
		if cmps["label"]["device_class"] != "enum" || len(cmps["teach_class"]["options"].([]any)) != 2 {
			return "label enum / teach_class options missing"
		}
		return ""
	})
	pattern := func(cmps map[string]map[string]any) *regexp.Regexp {
		s, _ := cmps["delete_class"]["pattern"].(string)
		re, err := regexp.Compile(s)
		if err != nil {
			return nil
		}
		return re
	}
	c.SetClasses([]string{"rock", "paper", "a.b (1)"})
	check("three classes", func(cmps map[string]map[string]any) string {
		re := pattern(cmps)
		if re == nil || !re.MatchString("rock") || !re.MatchString("a.b (1)") || re.MatchString("axb (1)") || re.MatchString("rocks") {
			return "delete_class pattern does not match exactly the classes"
		}
		return ""
	})
	c.SetClasses([]string{"paper"})
	check("a class deleted", func(cmps map[string]map[string]any) string {
		if len(cmps["class_rock"]) != 1 || len(cmps["samples_rock"]) != 1 {
			return "class_rock / samples_rock not removed"
		}
		if re := pattern(cmps); re == nil || re.MatchString("rock") || !re.MatchString("paper") {
			return "delete_class pattern not updated"
		}
		if opts, _ := cmps["teach_class"]["options"].([]any); len(opts) != 1 {
			return "teach_class options not updated"
		}
		return ""
	})
	c.SetClasses(nil)
	check("all deleted", func(cmps map[string]map[string]any) string {
		if len(cmps["delete_class"]) != 1 || cmps["delete_class"]["p"] != "text" {
			return "delete_class not removed"
		}
		if len(cmps["teach_class"]) != 1 || cmps["teach_class"]["p"] != "select" {
			return "teach_class not removed"
		}
		if len(cmps["class_rock"]) != 1 {
			return "class_rock not removed"
		}
		return ""
	})
}

func TestConfigurationURLChecked(t *testing.T) {
	for _, cu := range []string{"pi1.local:8080", "ftp://pi1/", "http://", "::"} {
		opts := deterministic(nil)
		opts.ConfigurationURL = cu
		_, err := mqtt.New(testConfig("mqtt://127.0.0.1:1"), opts)
		if err == nil || !strings.Contains(err.Error(), "configuration_url") {
			t.Errorf("ConfigurationURL %q: err = %v, want a configuration_url error", cu, err)
		}
	}
}

// TestDiscoveryWithoutCommands: no handler, no command entities, and the
// payload is still valid.
func TestDiscoveryWithoutCommands(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	b := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	c, err := mqtt.New(testConfig(b.URL), deterministic(nil))
	if err != nil {
		t.Fatal(err)
	}
	c.SetClasses([]string{"rock"})
	sub := mqtttest.Subscribe(t, b.URL, "homeassistant/#")
	runClient(t, c)
	m := sub.Wait(c.DiscoveryTopic(), 5*time.Second, nil)
	for _, e := range validateDiscovery(m.Payload) {
		t.Error(e)
	}
	var msg struct {
		Cmps map[string]map[string]any `json:"cmps"`
	}
	if err := json.Unmarshal(m.Payload, &msg); err != nil {
		t.Fatal(err)
	}
	for key, c := range msg.Cmps {
		if _, ok := c["command_topic"]; ok {
			t.Errorf("%s has a command topic without a handler", key)
		}
	}
	if _, ok := msg.Cmps["training_progress"]; !ok {
		t.Error("training_progress missing")
	}
}

// TestImageEntity: with image_interval set, discovery has a valid image
// entity and PublishImage's bytes reach <prefix>/image as they are; off
// (the default) there is neither.
func TestImageEntity(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	b := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	cfg := testConfig(b.URL)
	cfg.ImageInterval = time.Second
	c, err := mqtt.New(cfg, deterministic(nil))
	if err != nil {
		t.Fatal(err)
	}
	sub := mqtttest.Subscribe(t, b.URL, "#")
	runClient(t, c)
	m := sub.Wait(c.DiscoveryTopic(), 5*time.Second, nil)
	for _, e := range validateDiscovery(m.Payload) {
		t.Error(e)
	}
	var msg struct {
		Cmps map[string]map[string]any `json:"cmps"`
	}
	json.Unmarshal(m.Payload, &msg)
	img := msg.Cmps["camera_image"]
	if img["p"] != "image" || img["content_type"] != "image/jpeg" {
		t.Fatalf("camera_image: %v", img)
	}
	jpg := []byte("\xff\xd8 not really a jpeg \xff\xd9")
	c.PublishImage(jpg)
	got := sub.Wait(img["image_topic"].(string), 5*time.Second, nil)
	if string(got.Payload) != string(jpg) || got.Retained {
		t.Fatalf("image: %q retained %v", got.Payload, got.Retained)
	}

	off, err := mqtt.New(testConfig(b.URL), deterministic(nil))
	if err != nil {
		t.Fatal(err)
	}
	if off.ImageInterval() != 0 {
		t.Fatal("image_interval is on by default")
	}
}
