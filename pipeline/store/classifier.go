package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/labels"
	"github.com/alphad/alphad/pipeline/preprocess"
	"github.com/alphad/alphad/pipeline/tflite"
)

// ClassifierFile is a whole .tflite image classifier (run as is, no
// trained head) with its class labels, read and checked by
// ReadClassifier.
type ClassifierFile struct {
	Path       string
	LabelsPath string // "" when the classes are numbered
	Data       []byte // the .tflite file
	Model      *tflite.Model
	Labels     []string // one per output
}

// ReadClassifier reads the classifier at path and its labels: the file
// labelsPath, else labels.txt beside the model, else the class numbers
// ("0", "1", …). It refuses a model that is not an image classifier (one
// [1,H,W,3] float32/uint8/int8 input, one output of at least 2 scores)
// and labels whose count differs from the model's outputs.
func ReadClassifier(path, labelsPath string) (*ClassifierFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("store: model: %w", err)
	}
	c, err := parseClassifier(path, data)
	if err != nil {
		return nil, err
	}
	n := c.Model.Output(0).NumElements()
	if labelsPath == "" {
		beside := filepath.Join(filepath.Dir(path), "labels.txt")
		if _, err := os.Stat(beside); err == nil {
			labelsPath = beside
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("store: model %s: %w", path, err)
		}
	}
	if labelsPath == "" {
		for i := range n {
			c.Labels = append(c.Labels, strconv.Itoa(i))
		}
		return c, nil
	}
	if c.Labels, err = labels.ReadFile(labelsPath); err != nil {
		return nil, fmt.Errorf("store: model %s: %w", path, err)
	}
	if len(c.Labels) != n {
		return nil, fmt.Errorf("store: model %s has %d classes but %s has %d labels", path, n, labelsPath, len(c.Labels))
	}
	c.LabelsPath = labelsPath
	return c, nil
}

// NewClassifierFile checks a classifier held in memory (an upload named
// name) with its labels, by the rules of ReadClassifier.
func NewClassifierFile(name string, data []byte, labels []string) (*ClassifierFile, error) {
	c, err := parseClassifier(name, data)
	if err != nil {
		return nil, err
	}
	if n := c.Model.Output(0).NumElements(); len(labels) != n {
		return nil, fmt.Errorf("store: model %s has %d classes but %d labels were given", name, n, len(labels))
	}
	c.Labels = labels
	return c, nil
}

// parseClassifier parses data and checks that it is an image classifier.
func parseClassifier(path string, data []byte) (*ClassifierFile, error) {
	m, err := tflite.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("store: model %s: %w", path, err)
	}
	if err := checkImageInput(m); err != nil {
		return nil, fmt.Errorf("store: model %s is not an image classifier: %w", path, err)
	}
	out := m.Output(0)
	switch n := out.NumElements(); {
	case n < 2:
		return nil, fmt.Errorf("store: model %s is not an image classifier: output %v holds %d score(s), want one per class (≥ 2)", path, out.Shape, n)
	case out.Type != tflite.Float32 && out.Type != tflite.Uint8 && out.Type != tflite.Int8:
		return nil, fmt.Errorf("store: model %s: output type %s not supported (want float32, uint8 or int8)", path, out.Type)
	}
	return &ClassifierFile{Path: path, Data: data, Model: m}, nil
}

// Load builds a runnable model of c with the given engine; its Version is
// "file:<base name>".
func (c *ClassifierFile) Load(newEngine engine.New, opts engine.Options) (*head.Model, error) {
	bb, err := head.NewBackbone(c.Model, HashBytes(c.Data), newEngine, opts)
	if err != nil {
		return nil, fmt.Errorf("store: model %s: %w", c.Path, err)
	}
	return &head.Model{Version: "file:" + filepath.Base(c.Path), Labels: c.Labels, Backbone: bb}, nil
}

// LoadClassifier loads a whole .tflite image classifier and its labels
// (see ReadClassifier for the rules) with the given engine: what
// `alphad classify --model`, `alphad watch --model` and the daemon's
// model.path run.
func LoadClassifier(path, labelsPath string, newEngine engine.New, opts engine.Options) (*head.Model, error) {
	c, err := ReadClassifier(path, labelsPath)
	if err != nil {
		return nil, err
	}
	return c.Load(newEngine, opts)
}

// Import stores c as a new version (KindTFLite, run as is) and makes it
// current. Check that it runs first (c.Load): Import does not build an
// engine.
func (m *Models) Import(c *ClassifierFile) (Version, error) {
	ref, err := m.PutBackbone(c.Data, c.Path)
	if err != nil {
		return Version{}, err
	}
	return m.Commit(Version{Kind: KindTFLite, Labels: c.Labels, Backbone: ref, Source: "import " + c.Path}, nil)
}

// checkImageInput refuses a model alphad cannot feed an image: it wants
// one input [1,H,W,3] of float32, uint8 or int8 and one output.
func checkImageInput(m *tflite.Model) error {
	if len(m.Inputs) != 1 || len(m.Outputs) != 1 {
		return fmt.Errorf("%d inputs and %d outputs, want 1 and 1", len(m.Inputs), len(m.Outputs))
	}
	if _, err := preprocess.New(m.Input(0), preprocess.Options{}); err != nil {
		return err
	}
	return nil
}

// backboneModel checks that m takes an image and returns its feature
// extractor (see head.FeatureModel).
func backboneModel(m *tflite.Model) (f *tflite.Model, cut bool, err error) {
	if err := checkImageInput(m); err != nil {
		return nil, false, err
	}
	return head.FeatureModel(m)
}
