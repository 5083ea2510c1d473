package fleet

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// PartSize is the largest message the fleet publishes: a publication
// bigger than this (a default head is about 1.5 MB) goes out as parts of
// this size on <model topic>/part/<i>, followed by a manifest on the model
// topic; every broker we know takes 128 KiB (EMQX's default limit is 1 MB,
// AWS IoT's 128 KB).
const PartSize = 128 << 10

// maxParts bounds a manifest's part count (the largest envelope / 1 KiB).
const maxParts = (MaxBodySize + MaxMetaSize + 1024) / 1024

var (
	manifestMagic = [8]byte{'A', 'L', 'P', 'H', 'A', 'F', 'L', 'M'}
	partMagic     = [8]byte{'A', 'L', 'P', 'H', 'A', 'F', 'L', 'P'}
)

const (
	manifestSize   = 8 + 4 + 4 + 4 + sha256.Size // magic, version+reserved, parts, size, digest
	partHeaderSize = 8 + 4 + 4 + 4 + sha256.Size // magic, version+reserved, index, parts, digest
)

// Message is one MQTT message of a publication (retained, QoS 1).
type Message struct {
	Topic   string
	Payload []byte
}

// PartTopic is the topic of part i of the group's publication.
func PartTopic(group string, i int) string { return ModelTopic(group) + "/part/" + strconv.Itoa(i) }

// PartsFilter subscribes to every part.
func PartsFilter(group string) string { return ModelTopic(group) + "/part/+" }

// Messages are what publishing an envelope sends, in order: the envelope
// itself on the model topic when it fits PartSize; else its parts, then
// the manifest (parts count, size and SHA-256 of the envelope) on the
// model topic, so that a receiver assembles only a complete set.
func Messages(group string, envelope []byte, partSize int) []Message {
	if partSize <= 0 {
		partSize = PartSize
	}
	if len(envelope) <= partSize {
		return []Message{{ModelTopic(group), envelope}}
	}
	sum := sha256.Sum256(envelope)
	n := (len(envelope) + partSize - 1) / partSize
	var out []Message
	for i := range n {
		chunk := envelope[i*partSize : min((i+1)*partSize, len(envelope))]
		var b bytes.Buffer
		b.Write(partMagic[:])
		b.Write([]byte{1, 0, 0, 0})
		b.Write(binary.BigEndian.AppendUint32(nil, uint32(i)))
		b.Write(binary.BigEndian.AppendUint32(nil, uint32(n)))
		b.Write(sum[:])
		b.Write(chunk)
		out = append(out, Message{PartTopic(group, i), b.Bytes()})
	}
	var m bytes.Buffer
	m.Write(manifestMagic[:])
	m.Write([]byte{1, 0, 0, 0})
	m.Write(binary.BigEndian.AppendUint32(nil, uint32(n)))
	m.Write(binary.BigEndian.AppendUint32(nil, uint32(len(envelope))))
	m.Write(sum[:])
	return append(out, Message{ModelTopic(group), m.Bytes()})
}

// manifest describes a publication sent in parts.
type manifest struct {
	parts, size int
	sum         [sha256.Size]byte
}

// IsManifest reports whether a model-topic payload is a manifest (else it
// is an envelope).
func IsManifest(p []byte) bool { return len(p) >= 8 && bytes.Equal(p[:8], manifestMagic[:]) }

func parseManifest(p []byte) (manifest, error) {
	if len(p) != manifestSize || !IsManifest(p) || p[8] != 1 {
		return manifest{}, bad("manifest: %d bytes, want %d with version 1", len(p), manifestSize)
	}
	m := manifest{parts: int(binary.BigEndian.Uint32(p[12:])), size: int(binary.BigEndian.Uint32(p[16:]))}
	copy(m.sum[:], p[20:])
	if m.parts < 2 || m.parts > maxParts || m.size < m.parts || m.size > MaxBodySize+MaxMetaSize+1024 {
		return manifest{}, bad("manifest: %d parts of %d bytes: out of bounds", m.parts, m.size)
	}
	return m, nil
}

// part is one received part.
type part struct {
	index, parts int
	sum          [sha256.Size]byte
	data         []byte
}

func parsePart(p []byte) (part, error) {
	if len(p) <= partHeaderSize || !bytes.Equal(p[:8], partMagic[:]) || p[8] != 1 {
		return part{}, bad("part: %d bytes: not a version 1 part", len(p))
	}
	pt := part{index: int(binary.BigEndian.Uint32(p[12:])), parts: int(binary.BigEndian.Uint32(p[16:])), data: p[partHeaderSize:]}
	copy(pt.sum[:], p[20:])
	if pt.parts < 2 || pt.parts > maxParts || pt.index >= pt.parts {
		return part{}, bad("part %d of %d: out of bounds", pt.index, pt.parts)
	}
	return pt, nil
}

// Assembler puts publications sent in parts back together. Feed it every
// message of the model topic and its parts; it returns an envelope once
// the latest manifest's parts are all there and their SHA-256 matches.
// Parts of other publications (stale retained parts, a newer publication
// whose manifest is on its way) are kept for at most keepSets digests.
type Assembler struct {
	want *manifest
	sets map[[sha256.Size]byte]map[int][]byte
	lru  [][sha256.Size]byte
}

const keepSets = 3

// NewAssembler returns an empty Assembler.
func NewAssembler() *Assembler { return &Assembler{sets: map[[sha256.Size]byte]map[int][]byte{}} }

// Add takes a message of topic (the model topic or a part topic of
// group) and returns a complete envelope when there is one (nil, nil
// while parts are missing). Errors say what was wrong with a message; it
// is ignored.
func (a *Assembler) Add(group, topic string, payload []byte) ([]byte, error) {
	if topic == ModelTopic(group) {
		if !IsManifest(payload) {
			a.want = nil
			return payload, nil // a whole envelope (or empty: cleared)
		}
		m, err := parseManifest(payload)
		if err != nil {
			return nil, err
		}
		a.want = &m
		return a.complete()
	}
	idx, ok := strings.CutPrefix(topic, ModelTopic(group)+"/part/")
	if !ok {
		return nil, nil
	}
	if len(payload) == 0 {
		return nil, nil // a cleared part
	}
	p, err := parsePart(payload)
	if err != nil {
		return nil, err
	}
	if idx != strconv.Itoa(p.index) {
		return nil, bad("part %d arrived on %s", p.index, topic)
	}
	set, ok := a.sets[p.sum]
	if !ok {
		if len(a.lru) == keepSets {
			old := a.lru[0]
			a.lru = a.lru[1:]
			delete(a.sets, old)
		}
		set = map[int][]byte{}
		a.sets[p.sum] = set
		a.lru = append(a.lru, p.sum)
	}
	set[p.index] = bytes.Clone(p.data)
	return a.complete()
}

// complete returns the wanted envelope when all its parts are there.
func (a *Assembler) complete() ([]byte, error) {
	m := a.want
	if m == nil {
		return nil, nil
	}
	set := a.sets[m.sum]
	if len(set) < m.parts {
		return nil, nil
	}
	env := make([]byte, 0, m.size)
	for i := range m.parts {
		d, ok := set[i]
		if !ok {
			return nil, nil
		}
		env = append(env, d...)
	}
	a.want = nil
	if len(env) != m.size || sha256.Sum256(env) != m.sum {
		delete(a.sets, m.sum)
		return nil, bad("parts of %x: %d bytes, manifest says %d, or their SHA-256 differs", m.sum[:8], len(env), m.size)
	}
	return env, nil
}

// String names a manifest in logs.
func (m manifest) String() string {
	return fmt.Sprintf("%d parts, %d bytes, sha256 %x…", m.parts, m.size, m.sum[:8])
}
