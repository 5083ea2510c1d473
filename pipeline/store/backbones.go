package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/alphad/alphad/internal/atomicfile"
)

// BackboneRef names a backbone: a content-addressed file under the state
// directory's backbones folder.
type BackboneRef struct {
	Hash   string `json:"hash"`             // hex SHA-256 prefix of the file
	File   string `json:"file"`             // relative to the state directory
	Source string `json:"source,omitempty"` // where it came from
}

// Errors for expected backbone states.
var (
	ErrBackboneHash = errors.New("backbone file does not match its hash")
	// ErrNoBackbone means there is neither a model version nor an
	// installed backbone to train from; the message says how to get one.
	ErrNoBackbone = errors.New("no model and no backbone to train one")
)

// HashBytes is the identifier alphad uses for a backbone file.
func HashBytes(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

// isHashFile reports whether name is a content file "<hash>.tflite".
func isHashFile(name string) bool {
	h, ok := strings.CutSuffix(name, ".tflite")
	if !ok || len(h) != 32 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil && strings.ToLower(h) == h
}

// PutBackbone stores a backbone file (once per content) and returns its
// reference.
func (m *Models) PutBackbone(data []byte, source string) (BackboneRef, error) {
	ref := BackboneRef{Hash: HashBytes(data), Source: source}
	ref.File = filepath.Join(backbonesDir, ref.Hash+".tflite")
	path := filepath.Join(m.state, ref.File)
	if old, err := os.ReadFile(path); err == nil && HashBytes(old) == ref.Hash {
		return ref, nil
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return BackboneRef{}, fmt.Errorf("store: backbone: %w", err)
	}
	return ref, nil
}

// ReadBackbone reads a backbone file and checks its hash.
func (m *Models) ReadBackbone(ref BackboneRef) ([]byte, error) {
	if ref.File == "" || filepath.IsAbs(ref.File) || strings.Contains(ref.File, "..") {
		return nil, fmt.Errorf("store: backbone file %q: bad path", ref.File)
	}
	data, err := os.ReadFile(filepath.Join(m.state, ref.File))
	if err != nil {
		return nil, fmt.Errorf("store: backbone: %w", err)
	}
	if HashBytes(data) != ref.Hash {
		return nil, fmt.Errorf("store: backbone %s: %w", ref.File, ErrBackboneHash)
	}
	return data, nil
}

var backboneNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// ValidBackboneName checks a backbone name: 1 to 100 letters, digits,
// '.', '_' or '-', starting with a letter or digit.
func ValidBackboneName(name string) error {
	if !backboneNameRe.MatchString(name) || strings.Contains(name, "..") {
		return fmt.Errorf("%q is not a backbone name (letters, digits, '.', '_', '-')", name)
	}
	return nil
}

func (m *Models) namesPath() string { return filepath.Join(m.state, backbonesDir, backboneNames) }

// readNames reads backbones/names.json (empty when absent).
func (m *Models) readNames() (map[string]BackboneRef, error) {
	names := map[string]BackboneRef{}
	b, err := os.ReadFile(m.namesPath())
	if errors.Is(err, os.ErrNotExist) {
		return names, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := json.Unmarshal(b, &names); err != nil {
		return nil, fmt.Errorf("store: %s: %w", m.namesPath(), err)
	}
	for n := range names {
		if ValidBackboneName(n) != nil {
			return nil, fmt.Errorf("store: %s: bad backbone name %q", m.namesPath(), n)
		}
	}
	return names, nil
}

func (m *Models) writeNames(names map[string]BackboneRef) error {
	b, err := json.MarshalIndent(names, "", "  ")
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := atomicfile.WriteFile(m.namesPath(), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("store: backbone names: %w", err)
	}
	return nil
}

// InstallBackbone stores data as the backbone called name (replacing
// what the name held) and returns its reference. Content and name are
// durable when it returns; on failure the name is unchanged.
func (m *Models) InstallBackbone(name string, data []byte, source string) (BackboneRef, error) {
	if err := ValidBackboneName(name); err != nil {
		return BackboneRef{}, fmt.Errorf("store: install backbone: %w", err)
	}
	unlock, err := m.lock()
	if err != nil {
		return BackboneRef{}, err
	}
	defer unlock()
	names, err := m.readNames()
	if err != nil {
		return BackboneRef{}, err
	}
	ref, err := m.PutBackbone(data, source)
	if err != nil {
		return BackboneRef{}, err
	}
	names[name] = ref
	return ref, m.writeNames(names)
}

// NamedBackbones lists the installed backbones by name.
func (m *Models) NamedBackbones() (map[string]BackboneRef, error) { return m.readNames() }

// FindBackbone returns the .tflite that training starts from and where it
// came from: the current version's backbone, else the installed backbone
// called name (DefaultBackbone when ""), else any installed backbone
// (by name order), else the file modelPath when not "". Full classifiers
// are cut at their global pool by the trainer. With none, the error wraps
// ErrNoBackbone and says how to get one.
func (m *Models) FindBackbone(name, modelPath string) ([]byte, string, error) {
	cur, err := m.CurrentName()
	switch {
	case err == nil:
		v, err := m.Version(cur)
		if err != nil {
			return nil, "", err
		}
		data, err := m.ReadBackbone(v.Backbone)
		if err != nil {
			return nil, "", fmt.Errorf("store: version %s: %w", cur, err)
		}
		return data, v.Backbone.Source, nil
	case !errors.Is(err, ErrNoModel):
		return nil, "", err
	}
	names, err := m.readNames()
	if err != nil {
		return nil, "", err
	}
	if name == "" {
		name = DefaultBackbone
	}
	order := []string{name}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		if n != name {
			order = append(order, n)
		}
	}
	for _, n := range order {
		ref, ok := names[n]
		if !ok {
			continue
		}
		data, err := m.ReadBackbone(ref)
		if err != nil {
			return nil, "", fmt.Errorf("store: installed backbone %s: %w (pull it again)", n, err)
		}
		return data, n, nil
	}
	if modelPath != "" {
		data, err := os.ReadFile(modelPath)
		if err != nil {
			return nil, "", fmt.Errorf("store: backbone: %w", err)
		}
		return data, modelPath, nil
	}
	return nil, "", fmt.Errorf("store: %w in %s.\n"+
		"  Get the default backbone (MobileNetV2, 3.4 MB) with:   alphad model pull\n"+
		"  or offline from a copy:                                alphad model pull --mirror /path/to/mobilenet_v2_1.0_224_quant.tgz\n"+
		"  or use a Teachable Machine export as the model:        alphad model import DIR\n"+
		"  (or set model.path in the configuration)", ErrNoBackbone, m.state)
}

// migrateBackbones moves pulled backbones from the older
// models/backbones/<name>.tflite into backbones/ (content file plus a
// names.json entry; a name installed since wins), then removes the old
// files and, when empty, the folder. Each step is atomic and repeating it
// is harmless, so a crash midway is finished by the next open. The caller
// holds the models lock.
func (m *Models) migrateBackbones() error {
	old := filepath.Join(m.state, legacyBackbone)
	ents, err := os.ReadDir(old)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", old, err)
	}
	names, err := m.readNames()
	if err != nil {
		return err
	}
	var moved []string
	for _, e := range ents {
		p := filepath.Join(old, e.Name())
		if strings.HasPrefix(e.Name(), ".") { // a temp file of an interrupted pull
			os.Remove(p)
			continue
		}
		name, ok := strings.CutSuffix(e.Name(), ".tflite")
		if !ok || !e.Type().IsRegular() || ValidBackboneName(name) != nil {
			continue // not alphad's: left where it is
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("store: migrate %s: %w", p, err)
		}
		ref, err := m.PutBackbone(data, filepath.Join(legacyBackbone, e.Name()))
		if err != nil {
			return fmt.Errorf("store: migrate %s: %w", p, err)
		}
		if _, ok := names[name]; !ok {
			names[name] = ref
		}
		moved = append(moved, p)
	}
	if len(moved) > 0 {
		if err := m.writeNames(names); err != nil {
			return err
		}
	}
	for _, p := range moved {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
	}
	if err := os.Remove(old); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil // something else is in there: keep the folder
	}
	return atomicfile.SyncDir(m.dir)
}

// sweepBackbones removes backbone files that no version and no name
// uses, and temp files. It reads every version first and sweeps nothing
// when one cannot be read.
func (m *Models) sweepBackbones(log *slog.Logger) error {
	unlock, err := m.lock()
	if err != nil {
		return err
	}
	defer unlock()
	used := map[string]bool{}
	names, err := m.readNames()
	if err != nil {
		return err
	}
	for _, r := range names {
		used[filepath.Clean(r.File)] = true
	}
	versions, _, err := m.List()
	if err != nil {
		return err
	}
	for _, v := range versions {
		used[filepath.Clean(v.Backbone.File)] = true
	}
	dir := filepath.Join(m.state, backbonesDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	removed := false
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, ".") && (!isHashFile(name) || used[filepath.Join(backbonesDir, name)]) {
			continue
		}
		log.Info("store: removing unused backbone file", "file", filepath.Join(dir, name))
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		removed = true
	}
	if removed {
		return atomicfile.SyncDir(dir)
	}
	return nil
}
