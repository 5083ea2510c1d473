package fleet

import (
	"slices"
	"testing"
	"time"

	"github.com/alphad/alphad/pipeline/store"
)

func TestView(t *testing.T) {
	v := NewView("shop")
	subs := v.Handle("alphad/fleet/shop/members/b", []byte(`{"device_id":"b","topic_prefix":"alphad/b","trainer":true,"time":"2026-12-01T10:00:00Z"}`))
	if !slices.Equal(subs, []string{"alphad/b/availability", "alphad/b/diagnostics", "alphad/b/state"}) {
		t.Fatalf("subscriptions %v", subs)
	}
	// Bad membership messages are ignored: id mismatch, wildcard prefix.
	v.Handle("alphad/fleet/shop/members/c", []byte(`{"device_id":"x","topic_prefix":"alphad/c"}`))
	v.Handle("alphad/fleet/shop/members/d", []byte(`{"device_id":"d","topic_prefix":"alphad/#"}`))
	v.Handle("alphad/fleet/other/members/e", []byte(`{"device_id":"e","topic_prefix":"alphad/e"}`))
	v.Handle("alphad/b/availability", []byte("online"))
	v.Handle("alphad/b/diagnostics", []byte(`{"time":"2026-12-01T10:01:00Z","fps":4.5,"model_version":"v000002","fleet":{"adopted":{"publisher":"a","version":"v000007"}}}`))
	v.Handle("alphad/b/state", []byte(`{"time":"2026-12-01T10:02:00Z","model_version":"v000002"}`))
	v.Handle("alphad/b/state", []byte(`not json`))
	m := v.Members()
	if len(m) != 1 {
		t.Fatalf("members %+v", m)
	}
	b := m[0]
	if b.DeviceID != "b" || !b.Trainer || b.Availability != "online" || b.ModelVersion != "v000002" || b.FPS == nil || *b.FPS != 4.5 ||
		b.Adopted != "a/v000007" || !b.LastSeen.Equal(time.Date(2026, 12, 1, 10, 2, 0, 0, time.UTC)) {
		t.Fatalf("member %+v", b)
	}
	v.Handle("alphad/fleet/shop/members/b", nil) // left the group
	if len(v.Members()) != 0 {
		t.Fatal("member not removed")
	}
	v.Handle("alphad/b/availability", []byte("offline")) // no longer tracked: no panic
}

func TestSkip(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	p := &Publication{Meta: Meta{Publisher: "a", Version: "v000003", Created: t0}}
	local := store.Version{Name: "v000001", Created: t0.Add(-time.Hour)}
	adopted := store.Version{Name: "v000002", Created: t0.Add(2 * time.Hour),
		Origin: &store.Origin{Publisher: "a", Version: "v000003", Created: t0}}
	newer := store.Version{Name: "v000003", Created: t0.Add(time.Hour)}
	for _, c := range []struct {
		name     string
		self     string
		versions []store.Version
		current  string
		force    bool
		want     string
	}{
		{"fresh device", "b", nil, "", false, ""},
		{"older local model", "b", []store.Version{local}, "v000001", false, ""},
		{"own", "a", nil, "", false, "own publication"},
		{"own, forced", "a", nil, "", true, ""},
		{"already adopted", "b", []store.Version{local, adopted}, "v000001", false, "already adopted as v000002"},
		{"newer local model", "b", []store.Version{local, newer}, "v000003", false, "older"},
		{"newer local model, forced", "b", []store.Version{newer}, "v000003", true, ""},
	} {
		got := Skip(p, c.self, c.versions, c.current, c.force)
		if c.want == "" && got != "" || c.want != "" && (len(got) < len(c.want) || got[:len(c.want)] != c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
