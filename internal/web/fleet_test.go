package web

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"

	"github.com/alphad/alphad/internal/fleet"
)

// fleetDevice is a device with a fleet view.
type fleetDevice struct {
	fakeDevice
	st      *fleet.Status
	members []fleet.Member
}

func (f *fleetDevice) FleetView() (*fleet.Status, []fleet.Member) { return f.st, f.members }

func fleetGet(t *testing.T, dev Device) (int, fleetJSON) {
	t.Helper()
	s := New(Options{})
	s.Bind(dev)
	ts := httptest.NewServer(s)
	defer ts.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	link, _ := s.LoginLink()
	if resp, err := c.Get(ts.URL + link); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	resp, err := c.Get(ts.URL + "/api/fleet")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out fleetJSON
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestFleetAPI(t *testing.T) {
	fps := 1.5
	dev := &fleetDevice{st: &fleet.Status{Group: "shop", Connected: true},
		members: []fleet.Member{{DeviceID: "a", Availability: "online", ModelVersion: "v000002", FPS: &fps}}}
	code, got := fleetGet(t, dev)
	if code != http.StatusOK || !got.Enabled || got.Status.Group != "shop" || len(got.Members) != 1 || got.Members[0].DeviceID != "a" || *got.Members[0].FPS != 1.5 {
		t.Fatalf("GET /api/fleet: %d %+v", code, got)
	}
	// Fleet off (nil status), and a device without a fleet view at all.
	for _, d := range []Device{&fleetDevice{}, &fakeDevice{}} {
		code, got := fleetGet(t, d)
		if code != http.StatusOK || got.Enabled || got.Members == nil || len(got.Members) != 0 {
			t.Errorf("fleet off: %d %+v", code, got)
		}
	}
	// Without a session: 401.
	s := New(Options{})
	s.Bind(dev)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/fleet", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("no session: %d", rec.Code)
	}
}
