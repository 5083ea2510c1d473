package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/fleet"
	"github.com/alphad/alphad/pipeline/store"
)

// errFleetOff answers publish and adopt on a device outside a fleet.
var errFleetOff = errors.New("fleet is off (set fleet.group and mqtt.broker, see docs/fleet.md)")

// fleetPart is the daemon's side of the fleet: the link (nil: off) and
// the lock that makes adoptions one at a time.
type fleetPart struct {
	link *fleet.Agent
	mu   sync.Mutex // one adoption at a time
}

// openFleet makes the fleet link when fleet.group is set; it is an output
// (shared samples, trainer results) and a link running beside the daemon.
func (d *Daemon) openFleet() error {
	if !d.cfg.Fleet.Enabled() {
		return nil
	}
	a, err := fleet.New(fleet.Options{Config: d.cfg.Fleet, MQTT: d.cfg.MQTT, Device: d, Log: d.log,
		SampleImage: func(id string) ([]byte, error) { return os.ReadFile(d.st.ImagePath(id)) }})
	if err != nil {
		return err
	}
	d.fleet.link = a
	if cur, err := d.models.CurrentName(); err == nil && d.cfg.Model.Path == "" {
		if v, err := d.models.Version(cur); err == nil && v.Origin != nil {
			a.SetAdopted(adoption(v))
		}
	}
	d.links = append(d.links, a)
	d.out = append(d.out, a)
	return nil
}

func adoption(v store.Version) *fleet.Adoption {
	o := v.Origin
	return &fleet.Adoption{Publisher: o.Publisher, Version: o.Version, LocalVersion: v.Name, KeyID: o.KeyID, At: o.Adopted}
}

// fleetStatus is the fleet part of diagnostics and status (nil: off).
func (d *Daemon) fleetStatus() any {
	if d.fleet.link == nil {
		return nil
	}
	return d.fleet.link.Status()
}

// FleetView is the fleet link's status and the group's members (the web
// app's fleet page); nil, nil when the fleet is off.
func (d *Daemon) FleetView() (*fleet.Status, []fleet.Member) {
	if d.fleet.link == nil {
		return nil, nil
	}
	st := d.fleet.link.Status()
	return &st, d.fleet.link.Members()
}

// publishTimeout bounds waiting for the broker's acknowledgement.
const publishTimeout = 15 * time.Second

func (d *Daemon) cmdPublish(ctx context.Context, cmd control.Command, _ string) (control.Result, error) {
	if d.fleet.link == nil {
		return control.Result{}, errFleetOff
	}
	meta, body, err := fleet.FromVersion(d.models, cmd.Version, d.cfg.MQTT.DeviceID, d.cfg.Fleet.Group, time.Now())
	if err != nil {
		return control.Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	n, err := d.fleet.link.Publish(ctx, meta, body)
	if err != nil {
		return control.Result{}, err
	}
	topic := fleet.ModelTopic(d.cfg.Fleet.Group)
	return control.Result{Message: fmt.Sprintf("published %s on %s (%d bytes, retained)", meta.Version, topic, n),
		Details: map[string]any{"model_version": meta.Version, "topic": topic, "bytes": n, "labels": meta.Labels}}, nil
}

// cmdAdopt installs the latest verified publication as a new version and
// swaps it in (the frame loop picks it up like a trained one); rollback
// goes back as usual. It skips this device's own publication, one already
// adopted and one older than the model in use, unless forced.
func (d *Daemon) cmdAdopt(ctx context.Context, cmd control.Command, _ string) (control.Result, error) {
	a := d.fleet.link
	if a == nil {
		return control.Result{}, errFleetOff
	}
	p := a.Latest()
	if p == nil {
		return control.Result{}, fmt.Errorf("no verified publication received on %s yet", fleet.ModelTopic(d.cfg.Fleet.Group))
	}
	d.fleet.mu.Lock()
	defer d.fleet.mu.Unlock()
	versions, cur, err := d.models.List()
	if err != nil {
		return control.Result{}, err
	}
	if d.cfg.Model.Path != "" {
		cur = "" // model.path runs: any publication is news
	}
	if reason := fleet.Skip(p, d.cfg.MQTT.DeviceID, versions, cur, cmd.Force); reason != "" {
		return control.Result{Message: "not adopted " + p.ID() + ": " + reason,
			Details: map[string]any{"adopted": false, "publication": p.ID(), "reason": reason}}, nil
	}
	ref, data, err := fleet.FindBackbone(ctx, d.models, p.Meta.Backbone, d.cfg.Model.Mirror)
	if err != nil {
		return control.Result{}, err
	}
	v, h, err := fleet.Prepare(p, ref, data, time.Now())
	if err != nil {
		return control.Result{}, err
	}
	if v, err = d.models.Commit(v, h); err != nil {
		return control.Result{}, err
	}
	before := a.Status().Adopted
	a.SetAdopted(adoption(v)) // before the swap: its diagnostics carry it
	if _, err := d.swapModel(v.Name); err != nil {
		a.SetAdopted(before)
		if cur != "" {
			if _, rerr := d.models.Rollback(cur); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		return control.Result{}, fmt.Errorf("adopt %s: %w", p.ID(), err)
	}
	d.log.Info("fleet: model adopted", "publication", p.ID(), "version", v.Name, "key_id", p.KeyID, "labels", v.Labels)
	return control.Result{Message: fmt.Sprintf("adopted %s as %s, in use", p.ID(), v.Name),
		Details: map[string]any{"adopted": true, "publication": p.ID(), "model_version": v.Name, "key_id": p.KeyID}}, nil
}
