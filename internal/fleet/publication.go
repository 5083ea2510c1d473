package fleet

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/pipeline/head"
)

// FormatVersion is the only publication format version this build reads
// and writes.
const FormatVersion = 1

// magic starts every publication.
var magic = [8]byte{'A', 'L', 'P', 'H', 'A', 'F', 'L', 'T'}

// algEd25519 is the only signature algorithm (byte 9).
const algEd25519 = 1

// Limits enforced by Parse.
const (
	MaxMetaSize = 1 << 20  // the JSON metadata
	MaxBodySize = 64 << 20 // the head
	MaxClasses  = 1000
)

// fixed sizes of the envelope.
const (
	preludeSize = 8 + 1 + 1 + 2 + 8 // magic, version, alg, reserved, key id
	trailerSize = ed25519.SignatureSize
)

// Meta describes a published model version (the envelope's JSON part).
type Meta struct {
	Publisher string    `json:"publisher"` // device id of the publisher
	Group     string    `json:"group"`
	Version   string    `json:"version"`   // the version's name on the publisher
	Created   time.Time `json:"created"`   // when the publisher made the version
	Published time.Time `json:"published"` // when it was published
	Kind      string    `json:"kind"`      // "head" (the only kind published)
	Labels    []string  `json:"labels"`
	Backbone  Backbone  `json:"backbone"`
	// Config, Report, Unknown and Samples are the version's training
	// metadata (Unknown is the open-set rule: part of the model).
	Config  *head.Config  `json:"config,omitempty"`
	Report  *head.Report  `json:"report,omitempty"`
	Unknown *head.Unknown `json:"unknown,omitempty"`
	Samples int           `json:"samples,omitempty"`
}

// Backbone names the feature extractor a published head runs on.
type Backbone struct {
	Name   string `json:"name"`   // the name `alphad model pull` installs it under
	SHA256 string `json:"sha256"` // hex SHA-256 of the .tflite
}

// Publication is a parsed (and, after Verify, authenticated) model
// publication: metadata, the head (head.MarshalBinary) and the signer.
type Publication struct {
	Meta  Meta
	Head  []byte
	KeyID string // hex key id of the signer
	// Raw is the whole envelope; signed is its signed part.
	Raw    []byte
	signed []byte
	sig    []byte
}

// FormatError says what is wrong with a publication's bytes.
type FormatError struct{ Reason string }

func (e *FormatError) Error() string { return "fleet: publication: " + e.Reason }

func bad(format string, args ...any) error { return &FormatError{Reason: fmt.Sprintf(format, args...)} }

var (
	deviceRe  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	versionRe = regexp.MustCompile(`^v[0-9]{6}$`)
	hexRe     = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Check validates the metadata: what a receiver relies on before it
// touches its store.
func (m *Meta) Check() error {
	switch {
	case !deviceRe.MatchString(m.Publisher):
		return fmt.Errorf("publisher %q: not a device id", m.Publisher)
	case !ValidGroup(m.Group):
		return fmt.Errorf("group %q: not a group name", m.Group)
	case !versionRe.MatchString(m.Version):
		return fmt.Errorf("version %q: not a version name (v000001)", m.Version)
	case m.Kind != "head":
		return fmt.Errorf("kind %q: only trained heads are published", m.Kind)
	case len(m.Labels) < 2 || len(m.Labels) > MaxClasses:
		return fmt.Errorf("labels: %d, want 2..%d", len(m.Labels), MaxClasses)
	case !hexRe.MatchString(m.Backbone.SHA256):
		return fmt.Errorf("backbone.sha256 %q: want 64 lowercase hex digits", m.Backbone.SHA256)
	case m.Backbone.Name == "" || len(m.Backbone.Name) > 100:
		return errors.New("backbone.name: required (≤ 100 bytes)")
	case m.Created.IsZero() || m.Published.IsZero():
		return errors.New("created and published: required")
	}
	seen := map[string]bool{}
	for _, l := range m.Labels {
		if err := control.ValidLabel(l); err != nil {
			return fmt.Errorf("label %q: %w", l, err)
		}
		if seen[l] {
			return fmt.Errorf("label %q: twice", l)
		}
		seen[l] = true
	}
	return nil
}

// Encode builds the signed envelope of meta and the head body:
//
//	"ALPHAFLT" | version 1 | alg 1 (ed25519) | 2 zero bytes | key id (8)
//	| meta length (u32 BE) | meta JSON | body length (u32 BE) | body
//	| ed25519 signature (64) over everything before it
func Encode(meta Meta, body []byte, key ed25519.PrivateKey) ([]byte, error) {
	if err := meta.Check(); err != nil {
		return nil, fmt.Errorf("fleet: publication: %w", err)
	}
	mj, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("fleet: publication: %w", err)
	}
	if len(mj) > MaxMetaSize || len(body) > MaxBodySize || len(body) == 0 {
		return nil, bad("metadata %d bytes, head %d bytes: over the limits (%d, %d) or empty", len(mj), len(body), MaxMetaSize, MaxBodySize)
	}
	var b bytes.Buffer
	b.Write(magic[:])
	b.Write([]byte{FormatVersion, algEd25519, 0, 0})
	id, _ := hex.DecodeString(KeyID(key.Public().(ed25519.PublicKey)))
	b.Write(id)
	b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(mj))))
	b.Write(mj)
	b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(body))))
	b.Write(body)
	b.Write(ed25519.Sign(key, b.Bytes()))
	return b.Bytes(), nil
}

// Parse reads an envelope without checking its signature (Verify does).
// It is safe on any input; every error is a *FormatError.
func Parse(data []byte) (*Publication, error) {
	if len(data) < preludeSize+4+4+trailerSize {
		return nil, bad("%d bytes: too short", len(data))
	}
	if !bytes.Equal(data[:8], magic[:]) {
		return nil, bad("not an alphad publication (magic %q)", data[:8])
	}
	if data[8] != FormatVersion {
		return nil, bad("format version %d (this alphad reads %d)", data[8], FormatVersion)
	}
	if data[9] != algEd25519 || data[10] != 0 || data[11] != 0 {
		return nil, bad("signature algorithm %d (want %d, ed25519)", data[9], algEd25519)
	}
	p := &Publication{KeyID: hex.EncodeToString(data[12:20]), Raw: data}
	rest := data[preludeSize : len(data)-trailerSize]
	mlen := binary.BigEndian.Uint32(rest)
	rest = rest[4:]
	if mlen > MaxMetaSize || uint64(mlen)+4 > uint64(len(rest)) {
		return nil, bad("metadata length %d: larger than the data or %d", mlen, MaxMetaSize)
	}
	mj := rest[:mlen]
	rest = rest[mlen:]
	blen := binary.BigEndian.Uint32(rest)
	rest = rest[4:]
	if blen == 0 || blen > MaxBodySize || uint64(blen) != uint64(len(rest)) {
		return nil, bad("head length %d: want the %d bytes before the signature (≤ %d)", blen, len(rest), MaxBodySize)
	}
	dec := json.NewDecoder(bytes.NewReader(mj))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p.Meta); err != nil {
		return nil, bad("metadata: %v", err)
	}
	if dec.More() {
		return nil, bad("metadata: trailing data")
	}
	if err := p.Meta.Check(); err != nil {
		return nil, bad("metadata: %v", err)
	}
	p.Head = rest
	p.signed = data[:len(data)-trailerSize]
	p.sig = data[len(data)-trailerSize:]
	return p, nil
}

// Verify checks the signature against the trusted keys: nil, or an error
// wrapping ErrUnknownKey or ErrBadSignature.
func (p *Publication) Verify(trusted Keyring) error {
	pub, ok := trusted[p.KeyID]
	if !ok {
		return fmt.Errorf("fleet: publication %s/%s: key %s: %w", p.Meta.Publisher, p.Meta.Version, p.KeyID, ErrUnknownKey)
	}
	if !ed25519.Verify(pub, p.signed, p.sig) {
		return fmt.Errorf("fleet: publication %s/%s: key %s: %w", p.Meta.Publisher, p.Meta.Version, p.KeyID, ErrBadSignature)
	}
	return nil
}

// ID names a publication in logs and origins: publisher/version.
func (p *Publication) ID() string { return p.Meta.Publisher + "/" + p.Meta.Version }

// ValidGroup reports whether s can name a fleet group: 1-64 letters,
// digits, '_' or '-'.
func ValidGroup(s string) bool { return deviceRe.MatchString(s) }
