package web

import (
	"net/http"
	"time"

	"github.com/alphad/alphad/pipeline/store"
)

// modelJSON is a model version in GET /api/models.
type modelJSON struct {
	Version   string      `json:"version"`
	Created   time.Time   `json:"created"`
	Kind      string      `json:"kind"`
	Classes   []string    `json:"classes"`
	Samples   int         `json:"samples"`
	Source    string      `json:"source,omitempty"`
	Current   bool        `json:"current"`
	Accuracy  *float64    `json:"accuracy"` // on Report.On
	On        string      `json:"on,omitempty"`
	PerClass  []classAcc  `json:"per_class,omitempty"`
	Confusion [][]int     `json:"confusion,omitempty"`
	Epochs    []epochJSON `json:"epochs,omitempty"`
}

// classAcc is one class's accuracy on the report's samples (On): Support
// is how many of them belong to the class (validated samples).
type classAcc struct {
	Class    string   `json:"class"`
	Support  int      `json:"support"`
	Accuracy *float64 `json:"accuracy"`
}

type epochJSON struct {
	Epoch       int      `json:"epoch"`
	Loss        *float64 `json:"loss"`
	Accuracy    *float64 `json:"accuracy"`
	ValLoss     *float64 `json:"val_loss"`
	ValAccuracy *float64 `json:"val_accuracy"`
}

func newModelJSON(v store.Version, cur string) modelJSON {
	m := modelJSON{Version: v.Name, Created: v.Created, Kind: v.Kind, Classes: v.Labels, Samples: v.Samples,
		Source: v.Source, Current: v.Name == cur}
	rep := v.Report
	if rep == nil {
		return m
	}
	m.Accuracy, m.On, m.Confusion = num(rep.Final.Accuracy), rep.On, rep.Final.Confusion
	for j, c := range rep.Final.PerClass {
		name := ""
		if j < len(v.Labels) {
			name = v.Labels[j]
		}
		m.PerClass = append(m.PerClass, classAcc{Class: name, Support: c.Support, Accuracy: num(c.Accuracy)})
	}
	for _, e := range rep.Epochs {
		if e.Refit || e.Member > 1 {
			continue
		}
		ej := epochJSON{Epoch: e.Epoch, Loss: num(e.TrainLoss), Accuracy: num(e.TrainAccuracy)}
		if e.HasVal {
			ej.ValLoss, ej.ValAccuracy = num(e.ValLoss), num(e.ValAccuracy)
		}
		m.Epochs = append(m.Epochs, ej)
	}
	return m
}

// model is one version as GET /api/models shows it.
func (s *Server) model(version string) (modelJSON, bool) {
	vs, cur, err := s.dev.ModelVersions()
	if err != nil {
		return modelJSON{}, false
	}
	for _, v := range vs {
		if v.Name == version {
			return newModelJSON(v, cur), true
		}
	}
	return modelJSON{}, false
}

// models is GET /api/models: the versions, newest first.
func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	vs, cur, err := s.dev.ModelVersions()
	if err != nil {
		jsonError(w, http.StatusInternalServerError, err.Error())
		return
	}
	list := make([]modelJSON, 0, len(vs))
	for i := len(vs) - 1; i >= 0; i-- { // newest first
		list = append(list, newModelJSON(vs[i], cur))
	}
	writeJSON(w, http.StatusOK, map[string]any{"current": cur, "models": list})
}
