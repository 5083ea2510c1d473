package fleet

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Member is one device of the fleet view.
type Member struct {
	DeviceID     string `json:"device_id"`
	TopicPrefix  string `json:"topic_prefix"`
	Trainer      bool   `json:"trainer"`
	Availability string `json:"availability"` // online, offline, "" = not seen
	ModelVersion string `json:"model_version"`
	// Adopted is the publication (publisher/version) its model came from,
	// "" when it runs its own.
	Adopted  string    `json:"adopted,omitempty"`
	FPS      *float64  `json:"fps"`       // nil until its diagnostics came
	LastSeen time.Time `json:"last_seen"` // the newest time of its state or diagnostics
}

// memberMsg is the retained payload of alphad/fleet/<group>/members/<id>.
type memberMsg struct {
	DeviceID    string `json:"device_id"`
	TopicPrefix string `json:"topic_prefix"`
	Trainer     bool   `json:"trainer"`
	Time        string `json:"time"`
}

// View is the fleet view: the group's members (from their retained
// membership) with what their own retained topics say (availability,
// diagnostics, state). Feed it every message with Handle.
type View struct {
	group string
	mu    sync.Mutex
	byID  map[string]*Member
	topic map[string]string // device topic → device id
}

// NewView makes an empty view of group.
func NewView(group string) *View {
	return &View{group: group, byID: map[string]*Member{}, topic: map[string]string{}}
}

// MembersFilter is the topic filter of the group's membership messages.
func MembersFilter(group string) string { return TopicRoot + "/" + group + "/members/+" }

// Handle takes one message; it returns the device topics to subscribe to
// when it announced a new member. Unknown topics and bad payloads are
// ignored.
func (v *View) Handle(topic string, payload []byte) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if id, ok := strings.CutPrefix(topic, TopicRoot+"/"+v.group+"/members/"); ok {
		return v.member(id, payload)
	}
	id, ok := v.topic[topic]
	if !ok {
		return nil
	}
	m := v.byID[id]
	switch {
	case strings.HasSuffix(topic, "/availability"):
		m.Availability = strings.TrimSpace(string(payload))
	case strings.HasSuffix(topic, "/diagnostics"):
		var d struct {
			Time         string   `json:"time"`
			FPS          *float64 `json:"fps"`
			ModelVersion string   `json:"model_version"`
			Fleet        *struct {
				Adopted *struct {
					Publisher string `json:"publisher"`
					Version   string `json:"version"`
				} `json:"adopted"`
			} `json:"fleet"`
		}
		if json.Unmarshal(payload, &d) != nil {
			return nil
		}
		m.FPS, m.ModelVersion = d.FPS, d.ModelVersion
		m.Adopted = ""
		if d.Fleet != nil && d.Fleet.Adopted != nil {
			m.Adopted = d.Fleet.Adopted.Publisher + "/" + d.Fleet.Adopted.Version
		}
		m.seen(d.Time)
	case strings.HasSuffix(topic, "/state"):
		var s struct {
			Time         string `json:"time"`
			ModelVersion string `json:"model_version"`
		}
		if json.Unmarshal(payload, &s) != nil {
			return nil
		}
		if s.ModelVersion != "" {
			m.ModelVersion = s.ModelVersion
		}
		m.seen(s.Time)
	}
	return nil
}

func (m *Member) seen(stamp string) {
	if t, err := time.Parse(time.RFC3339Nano, stamp); err == nil && t.After(m.LastSeen) {
		m.LastSeen = t
	}
}

// member records a membership message (empty: the device left).
func (v *View) member(id string, payload []byte) []string {
	if len(payload) == 0 {
		if m, ok := v.byID[id]; ok {
			for _, t := range deviceTopics(m.TopicPrefix) {
				delete(v.topic, t)
			}
			delete(v.byID, id)
		}
		return nil
	}
	var msg memberMsg
	if json.Unmarshal(payload, &msg) != nil || msg.DeviceID != id || !deviceRe.MatchString(id) || !validPrefix(msg.TopicPrefix) {
		return nil
	}
	if m, ok := v.byID[id]; ok {
		m.Trainer = msg.Trainer
		if m.TopicPrefix == msg.TopicPrefix {
			return nil
		}
		for _, t := range deviceTopics(m.TopicPrefix) {
			delete(v.topic, t)
		}
	}
	v.byID[id] = &Member{DeviceID: id, TopicPrefix: msg.TopicPrefix, Trainer: msg.Trainer}
	ts := deviceTopics(msg.TopicPrefix)
	for _, t := range ts {
		v.topic[t] = id
	}
	return ts
}

func validPrefix(p string) bool {
	return p != "" && len(p) <= 200 && !strings.ContainsAny(p, "+#\x00") && !strings.HasPrefix(p, "/") && !strings.HasSuffix(p, "/")
}

// deviceTopics are the retained topics of a device the view reads.
func deviceTopics(prefix string) []string {
	return []string{prefix + "/availability", prefix + "/diagnostics", prefix + "/state"}
}

// Members lists the members, by device id.
func (v *View) Members() []Member {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []Member
	for _, id := range slices.Sorted(maps.Keys(v.byID)) {
		out = append(out, *v.byID[id])
	}
	return out
}
