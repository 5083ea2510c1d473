package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/store"
	"github.com/alphad/alphad/pipeline/tflite"
)

// Models is what the fleet reads from and installs into a state
// directory (*store.Models).
type Models interface {
	Version(name string) (store.Version, error)
	List() ([]store.Version, string, error)
	Head(name string) (*head.Head, error)
	ReadBackbone(ref store.BackboneRef) ([]byte, error)
	NamedBackbones() (map[string]store.BackboneRef, error)
	Pull(ctx context.Context, o store.PullOptions) (store.PullResult, error)
}

var _ Models = (*store.Models)(nil)

// FromVersion builds the publication metadata and head of version name
// ("" = current) of models, published by device in group at now.
func FromVersion(models Models, name, device, group string, now time.Time) (Meta, []byte, error) {
	if name == "" {
		_, cur, err := models.List()
		if err != nil {
			return Meta{}, nil, err
		}
		if cur == "" {
			return Meta{}, nil, fmt.Errorf("fleet: publish: %w", store.ErrNoModel)
		}
		name = cur
	}
	v, err := models.Version(name)
	if err != nil {
		return Meta{}, nil, fmt.Errorf("fleet: publish: %w", err)
	}
	if v.Kind != store.KindHead {
		return Meta{}, nil, fmt.Errorf("fleet: publish %s: an imported %s classifier is not published (only trained heads: the fleet shares backbones by name)", name, v.Kind)
	}
	h, err := models.Head(name)
	if err != nil {
		return Meta{}, nil, fmt.Errorf("fleet: publish: %w", err)
	}
	body, err := h.MarshalBinary()
	if err != nil {
		return Meta{}, nil, fmt.Errorf("fleet: publish %s: %w", name, err)
	}
	data, err := models.ReadBackbone(v.Backbone)
	if err != nil {
		return Meta{}, nil, fmt.Errorf("fleet: publish %s: %w", name, err)
	}
	sum := sha256.Sum256(data)
	bbName, err := backboneName(models, v)
	if err != nil {
		return Meta{}, nil, fmt.Errorf("fleet: publish %s: %w", name, err)
	}
	return Meta{Publisher: device, Group: group, Version: name, Created: v.Created.UTC(), Published: now.UTC(),
		Kind: "head", Labels: v.Labels, Backbone: Backbone{Name: bbName, SHA256: hex.EncodeToString(sum[:])},
		Config: v.Config, Report: v.Report, Unknown: v.Unknown, Samples: v.Samples}, body, nil
}

// backboneName is the name the version's backbone is installed under, so
// that a receiver without it can pull it.
func backboneName(models Models, v store.Version) (string, error) {
	names, err := models.NamedBackbones()
	if err != nil {
		return "", err
	}
	if ref, ok := names[v.Backbone.Source]; ok && ref.Hash == v.Backbone.Hash {
		return v.Backbone.Source, nil
	}
	for n, ref := range names {
		if ref.Hash == v.Backbone.Hash {
			return n, nil
		}
	}
	if store.ValidBackboneName(v.Backbone.Source) == nil {
		return v.Backbone.Source, nil
	}
	return "", fmt.Errorf("its backbone %s (%s) has no name receivers could pull: install it with alphad model pull", v.Backbone.Hash, v.Backbone.Source)
}

// Skip says why a device should not adopt p, "" when it should: its own
// publication, one it adopted already, or a model older than the one it
// runs (current, "" = none). force overrides all three.
func Skip(p *Publication, self string, versions []store.Version, current string, force bool) string {
	if force {
		return ""
	}
	if p.Meta.Publisher == self {
		return "own publication"
	}
	for _, v := range versions {
		if o := v.Origin; o != nil && o.Publisher == p.Meta.Publisher && o.Version == p.Meta.Version && o.Created.Equal(p.Meta.Created) {
			return "already adopted as " + v.Name
		}
	}
	for _, v := range versions {
		if v.Name != current {
			continue
		}
		created := v.Created
		if v.Origin != nil {
			created = v.Origin.Created
		}
		if p.Meta.Created.Before(created) {
			return fmt.Sprintf("older (made %s) than the model in use %s (made %s)",
				p.Meta.Created.UTC().Format(time.RFC3339), v.Name, created.UTC().Format(time.RFC3339))
		}
	}
	return ""
}

// Prepare checks p's head against the backbone it runs on (data, stored
// as ref) and returns the version to commit and its head. The version's
// Origin records the publication.
func Prepare(p *Publication, ref store.BackboneRef, data []byte, now time.Time) (store.Version, *head.Head, error) {
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != p.Meta.Backbone.SHA256 {
		return store.Version{}, nil, fmt.Errorf("fleet: adopt %s: backbone sha256 %x, publication wants %s", p.ID(), sum, p.Meta.Backbone.SHA256)
	}
	var h head.Head
	if err := h.UnmarshalBinary(p.Head); err != nil {
		return store.Version{}, nil, fmt.Errorf("fleet: adopt %s: head: %w", p.ID(), err)
	}
	tm, err := tflite.Parse(data)
	if err != nil {
		return store.Version{}, nil, fmt.Errorf("fleet: adopt %s: backbone: %w", p.ID(), err)
	}
	fm, _, err := head.FeatureModel(tm)
	if err != nil {
		return store.Version{}, nil, fmt.Errorf("fleet: adopt %s: backbone: %w", p.ID(), err)
	}
	if n := fm.Output(0).NumElements(); h.In != n || h.Classes != len(p.Meta.Labels) {
		return store.Version{}, nil, fmt.Errorf("fleet: adopt %s: head %d→%d does not fit the backbone (%d features) and labels (%d)",
			p.ID(), h.In, h.Classes, n, len(p.Meta.Labels))
	}
	if u := p.Meta.Unknown; u != nil {
		if err := u.Check(h.Classes, h.In); err != nil {
			return store.Version{}, nil, fmt.Errorf("fleet: adopt %s: %w", p.ID(), err)
		}
	}
	v := store.Version{Kind: store.KindHead, Labels: p.Meta.Labels, Backbone: ref, Config: p.Meta.Config, Report: p.Meta.Report,
		Unknown: p.Meta.Unknown, Samples: p.Meta.Samples, Source: "fleet " + p.ID(),
		Origin: &store.Origin{Publisher: p.Meta.Publisher, Group: p.Meta.Group, KeyID: p.KeyID, Version: p.Meta.Version,
			Created: p.Meta.Created, Published: p.Meta.Published, Adopted: now.UTC()}}
	return v, &h, nil
}

// FindBackbone returns the backbone b from the state directory (any
// installed name or version that has it), else pulls it by name (from
// mirror, "" = the known download) checked against b's SHA-256.
func FindBackbone(ctx context.Context, models Models, b Backbone, mirror string) (store.BackboneRef, []byte, error) {
	var refs []store.BackboneRef
	names, err := models.NamedBackbones()
	if err != nil {
		return store.BackboneRef{}, nil, err
	}
	if r, ok := names[b.Name]; ok {
		refs = append(refs, r)
	}
	for _, r := range names {
		refs = append(refs, r)
	}
	if vs, _, err := models.List(); err == nil {
		for _, v := range vs {
			refs = append(refs, v.Backbone)
		}
	}
	for _, r := range refs {
		if len(b.SHA256) < len(r.Hash) || r.Hash != b.SHA256[:len(r.Hash)] {
			continue
		}
		data, err := models.ReadBackbone(r)
		if err != nil {
			continue
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) == b.SHA256 {
			return r, data, nil
		}
	}
	if _, err := models.Pull(ctx, store.PullOptions{Name: b.Name, Source: mirror, SHA256: b.SHA256}); err != nil {
		return store.BackboneRef{}, nil, fmt.Errorf("fleet: backbone %s (sha256 %s) is not installed and could not be pulled: %w", b.Name, b.SHA256, err)
	}
	names, err = models.NamedBackbones()
	if err != nil {
		return store.BackboneRef{}, nil, err
	}
	r, ok := names[b.Name]
	if !ok {
		return store.BackboneRef{}, nil, errors.New("fleet: backbone " + b.Name + ": pulled but not installed")
	}
	data, err := models.ReadBackbone(r)
	return r, data, err
}
