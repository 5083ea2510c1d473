package fleet

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alphad/alphad/pipeline/head"
)

func testMeta() Meta {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return Meta{Publisher: "garage", Group: "shop", Version: "v000003", Created: t0, Published: t0.Add(time.Minute),
		Kind: "head", Labels: []string{"closed", "open"},
		Backbone: Backbone{Name: "mobilenet_v2_1.0_224_quant", SHA256: strings.Repeat("ab", 32)}, Samples: 40}
}

func testKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testHead(t testing.TB) []byte {
	h, err := head.New(8, 0, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncodeParseVerify(t *testing.T) {
	key := testKey(t)
	pub := key.Public().(ed25519.PublicKey)
	body := testHead(t)
	data, err := Encode(testMeta(), body, key)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if p.KeyID != KeyID(pub) || !bytes.Equal(p.Head, body) || p.ID() != "garage/v000003" || !p.Meta.Created.Equal(testMeta().Created) {
		t.Fatalf("parsed %+v", p)
	}
	if err := p.Verify(Keyring{KeyID(pub): pub}); err != nil {
		t.Fatal(err)
	}
	// Unknown key.
	other := testKey(t).Public().(ed25519.PublicKey)
	if err := p.Verify(Keyring{KeyID(other): other}); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown key: %v", err)
	}
	// Any flipped bit of the signed part or the signature: bad signature
	// (or a format error); never accepted.
	for i := 0; i < len(data); i += max(1, len(data)/97) {
		bad := bytes.Clone(data)
		bad[i] ^= 0x01
		q, err := Parse(bad)
		if err == nil {
			err = q.Verify(Keyring{KeyID(pub): pub})
		}
		if err == nil {
			t.Fatalf("byte %d flipped: accepted", i)
		}
		if i >= preludeSize && !errors.Is(err, ErrBadSignature) {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("byte %d flipped: %v", i, err)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	key := testKey(t)
	good, err := Encode(testMeta(), testHead(t), key)
	if err != nil {
		t.Fatal(err)
	}
	metaLen := int(binary.BigEndian.Uint32(good[preludeSize:]))
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"magic", append([]byte("NOTALPHA"), good[8:]...), "not an alphad publication"},
		{"version", func() []byte { b := bytes.Clone(good); b[8] = 2; return b }(), "format version 2"},
		{"alg", func() []byte { b := bytes.Clone(good); b[9] = 7; return b }(), "signature algorithm 7"},
		{"meta length", func() []byte { b := bytes.Clone(good); binary.BigEndian.PutUint32(b[preludeSize:], 1<<30); return b }(), "metadata length"},
		{"truncated", good[:len(good)-1], "head length"},
		{"meta json", func() []byte { b := bytes.Clone(good); b[preludeSize+4] = '['; return b }(), "metadata:"},
		{"meta len short", func() []byte {
			b := bytes.Clone(good)
			binary.BigEndian.PutUint32(b[preludeSize:], uint32(metaLen-1))
			return b
		}(), "head length"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.data)
			var fe *FormatError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Parse: %v, want a FormatError with %q", err, c.want)
			}
		})
	}
}

func TestMetaCheck(t *testing.T) {
	for _, c := range []struct {
		edit func(*Meta)
		want string
	}{
		{func(m *Meta) { m.Publisher = "a/b" }, "publisher"},
		{func(m *Meta) { m.Group = "" }, "group"},
		{func(m *Meta) { m.Version = "7" }, "version"},
		{func(m *Meta) { m.Kind = "tflite" }, "kind"},
		{func(m *Meta) { m.Labels = []string{"one"} }, "labels"},
		{func(m *Meta) { m.Labels = []string{"a", "a"} }, "twice"},
		{func(m *Meta) { m.Labels = []string{"a", " b"} }, "label"},
		{func(m *Meta) { m.Backbone.SHA256 = "xyz" }, "backbone.sha256"},
		{func(m *Meta) { m.Backbone.Name = "" }, "backbone.name"},
		{func(m *Meta) { m.Created = time.Time{} }, "created"},
	} {
		m := testMeta()
		c.edit(&m)
		if err := m.Check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", m, err, c.want)
		}
		if _, err := Encode(m, []byte{1}, testKey(t)); err == nil {
			t.Errorf("Encode accepted %+v", m)
		}
	}
}

func TestKeygenAndKeyring(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fleet.key")
	pub, err := GenerateKey(path, "garage key")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateKey(path, ""); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("keygen over an existing key: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode: %v %v", fi.Mode(), err)
	}
	priv, err := ReadPrivateKey(path)
	if err != nil || !priv.Public().(ed25519.PublicKey).Equal(pub) {
		t.Fatalf("ReadPrivateKey: %v", err)
	}
	line, _ := os.ReadFile(path + ".pub")
	if !strings.HasPrefix(string(line), FormatPublicKey(pub)+" garage_key") {
		t.Errorf(".pub = %q", line)
	}
	kr, err := LoadKeyring([]string{path + ".pub", FormatPublicKey(pub)})
	if err != nil || len(kr) != 1 || !kr[KeyID(pub)].Equal(pub) {
		t.Fatalf("keyring %v: %v", kr, err)
	}
	_, err = LoadKeyring([]string{"ed25519:AAAA", filepath.Join(dir, "missing.pub"), path})
	for _, want := range []string{"trusted_keys[0]", "trusted_keys[1]", "trusted_keys[2]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad keyring: %v, want %s", err, want)
		}
	}
	if _, err := ParsePrivateKey("x", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")); err == nil {
		t.Error("garbage private key accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string // "" = valid
	}{
		{Config{}, ""},
		{Config{Group: "shop"}, ""},
		{Config{Adopt: true}, "group: required"},
		{Config{Group: "a b"}, "group:"},
		{Config{Group: "shop", Adopt: true}, "trusted_keys: adopt: true needs"},
		{Config{Group: "shop", Trainer: true}, "signing_key:"},
		{Config{Group: "shop", Trainer: true, SigningKey: "k", TrainEvery: time.Second}, "train_every:"},
		{Config{Group: "shop", TrainEvery: time.Hour}, "only with trainer"},
		{Config{Group: "shop", Adopt: true, TrustedKeys: []string{" "}}, "trusted_keys[0]: empty"},
	} {
		err := c.cfg.Validate()
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}

// FuzzParse: Parse never panics, every error is a FormatError, and what
// it accepts re-encodes to the same metadata.
func FuzzParse(f *testing.F) {
	key := testKey(f)
	good, err := Encode(testMeta(), testHead(f), key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:preludeSize+8])
	f.Add([]byte("ALPHAFLT"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FormatError", err)
			}
			return
		}
		if err := p.Meta.Check(); err != nil {
			t.Fatalf("accepted bad metadata: %v", err)
		}
		if len(p.Head) == 0 || len(p.KeyID) != 16 {
			t.Fatalf("accepted %+v", p)
		}
		if err := p.Verify(Keyring{}); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("empty keyring: %v", err)
		}
	})
}

// FuzzParseSample: the shared sample parser never panics and accepts only
// valid device ids, labels and PNG data.
func FuzzParseSample(f *testing.F) {
	f.Add([]byte(`{"device_id":"d1","label":"rock","time":"2026-12-01T10:00:00Z","image":"iVBORw0KGgoAAAANSUhEUg=="}`))
	f.Add([]byte(`{"device_id":"d/1","label":"","image":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dev, label, png, err := ParseSample(data)
		if err != nil {
			return
		}
		if !deviceRe.MatchString(dev) || label == "" || len(png) < 8 || string(png[1:4]) != "PNG" {
			t.Fatalf("accepted %q %q %d", dev, label, len(png))
		}
	})
}
