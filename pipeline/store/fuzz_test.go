package store

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alphad/alphad/pipeline/labels"
)

// FuzzJournal migrates a legacy journal of arbitrary bytes: OpenState
// must fail cleanly or give a usable store, never panic.
func FuzzJournal(f *testing.F) {
	f.Add([]byte(`{"op":"class","name":"a"}` + "\n" + `{"op":"rename","name":"a","to":"b"}` + "\n"))
	f.Add([]byte(`{"op":"add","samples":[{"id":"0123456789abcdef0123456789abcdef","label":"x","burst":1}]}` + "\n" + `{"op":"undo","burst":1}`))
	f.Add([]byte(`{"op":"rename","name":"zz","to":"b"}` + "\n"))
	f.Add([]byte("\n\n{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "samples"), 0o755)
		os.WriteFile(filepath.Join(dir, "samples", journalName), data, 0o644)
		st, err := OpenState(dir, nil)
		if err != nil {
			return
		}
		defer st.Close()
		s := st.Samples()
		s.Classes()
		s.Counts()
		if err := s.AddClass("fuzz-new-class"); err != nil && !strings.Contains(err.Error(), "exists") {
			t.Fatal(err)
		}
	})
}

// FuzzLabelsText checks that what LabelsText writes, labels.Parse (which
// reads every labels.txt alphad meets) reads back.
func FuzzLabelsText(f *testing.F) {
	f.Add("0 rock\n1 paper\n2 scissors\n")
	f.Add("cat\ndog\n")
	f.Add("0 a b\r\n1 c\r\n")
	f.Fuzz(func(t *testing.T, text string) {
		names, err := labels.Parse([]byte(text))
		if err != nil {
			return
		}
		again, err := labels.Parse(LabelsText(names))
		if err != nil || !slices.Equal(again, names) {
			t.Fatalf("round trip of %q: %q, %v", names, again, err)
		}
	})
}

// FuzzEmbeddingCache loads arbitrary cache files.
func FuzzEmbeddingCache(f *testing.F) {
	f.Add([]byte(embMagic + "\x02\x00\x00\x00"))
	f.Add([]byte(embMagic + "\x02\x00\x00\x00" + strings.Repeat("\x01", 32)))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "embeddings"), 0o755)
		os.WriteFile(filepath.Join(dir, "embeddings", "h.emb"), data, 0o644)
		c, err := openEmbeddings(filepath.Join(dir, embeddingsDir), "h", 2)
		if err != nil {
			return
		}
		if err := c.Put("0123456789abcdef0123456789abcdef", 0, []float32{1, 2}); err != nil {
			t.Fatal(err)
		}
		c.Close()
		c, err = openEmbeddings(filepath.Join(dir, embeddingsDir), "h", 2)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, ok := c.Get("0123456789abcdef0123456789abcdef", 0); !ok {
			t.Fatal("entry lost")
		}
	})
}

// FuzzBackboneNames opens a state directory whose backbones/names.json
// holds arbitrary bytes: OpenState and FindBackbone fail cleanly or work,
// never panic, and never read outside the state directory.
func FuzzBackboneNames(f *testing.F) {
	f.Add([]byte(`{"mobilenet_v2_1.0_224_quant":{"hash":"0123456789abcdef0123456789abcdef","file":"backbones/0123456789abcdef0123456789abcdef.tflite"}}`))
	f.Add([]byte(`{"x":{"hash":"h","file":"../../etc/passwd"}}`))
	f.Add([]byte(`{"../x":{}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, backbonesDir), 0o755)
		os.WriteFile(filepath.Join(dir, backbonesDir, backboneNames), data, 0o644)
		s, err := OpenState(dir, nil)
		if err != nil {
			return
		}
		defer s.Close()
		if b, _, err := s.Models().FindBackbone("", ""); err == nil && len(b) > 0 {
			t.Fatalf("found a %d-byte backbone in an empty state directory", len(b))
		}
	})
}
