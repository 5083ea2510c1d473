package web

import (
	"net/http"

	"github.com/alphad/alphad/internal/fleet"
)

// FleetViewer is the device's optional fleet view (*daemon.Daemon): its
// fleet status and the group's members; nil status when the fleet is off.
type FleetViewer interface {
	FleetView() (*fleet.Status, []fleet.Member)
}

// fleetJSON is GET /api/fleet.
type fleetJSON struct {
	Enabled bool           `json:"enabled"`
	Status  *fleet.Status  `json:"status,omitempty"`
	Members []fleet.Member `json:"members"`
}

// fleetView is GET /api/fleet: the devices of the fleet group seen on the
// broker (availability, model version, fps, last seen) and this device's
// fleet status (docs/fleet.md).
func (s *Server) fleetView(w http.ResponseWriter, _ *http.Request) {
	out := fleetJSON{Members: []fleet.Member{}}
	if fv, ok := s.dev.(FleetViewer); ok {
		st, members := fv.FleetView()
		out.Enabled, out.Status = st != nil, st
		if members != nil {
			out.Members = members
		}
	}
	writeJSON(w, http.StatusOK, out)
}
