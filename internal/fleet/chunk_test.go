package fleet

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func TestMessagesAndAssembler(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	env := make([]byte, 10*1000+7)
	for i := range env {
		env[i] = byte(rng.Uint32())
	}
	// Small: one message, the envelope itself.
	if m := Messages("g", env[:100], 1000); len(m) != 1 || m[0].Topic != "alphad/fleet/g/model" || !bytes.Equal(m[0].Payload, env[:100]) {
		t.Fatalf("small publication: %d messages", len(m))
	}
	msgs := Messages("g", env, 1000)
	if len(msgs) != 12 || msgs[11].Topic != "alphad/fleet/g/model" || msgs[3].Topic != "alphad/fleet/g/model/part/3" {
		t.Fatalf("%d messages", len(msgs))
	}
	orders := map[string][]int{"in order": nil, "manifest first": {11, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, "shuffled": rng.Perm(12)}
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			a := NewAssembler()
			if order == nil {
				order = []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
			}
			// Stale parts of an older, longer publication are ignored.
			old := Messages("g", bytes.Repeat([]byte{7}, 14000), 1000)
			for _, m := range old[:len(old)-1] {
				if got, err := a.Add("g", m.Topic, m.Payload); err != nil || got != nil {
					t.Fatalf("stale part: %v %v", got, err)
				}
			}
			var got []byte
			for k, i := range order {
				out, err := a.Add("g", msgs[i].Topic, msgs[i].Payload)
				if err != nil {
					t.Fatal(err)
				}
				if out != nil {
					if k != len(order)-1 {
						t.Fatalf("complete after %d of %d messages", k+1, len(order))
					}
					got = out
				}
			}
			if !bytes.Equal(got, env) {
				t.Fatalf("assembled %d bytes, want the %d of the envelope", len(got), len(env))
			}
		})
	}
	// A corrupted part: the SHA-256 check refuses the set.
	a := NewAssembler()
	for i, m := range msgs {
		p := bytes.Clone(m.Payload)
		if i == 4 {
			p[len(p)-1] ^= 1
		}
		out, err := a.Add("g", m.Topic, p)
		if i == len(msgs)-1 {
			var fe *FormatError
			if out != nil || !errors.As(err, &fe) {
				t.Fatalf("corrupted part: %v %v", out != nil, err)
			}
		}
	}
	// A part on the wrong topic, garbage, a bad manifest.
	a = NewAssembler()
	if _, err := a.Add("g", "alphad/fleet/g/model/part/5", msgs[4].Payload); err == nil {
		t.Error("part 4 on topic part/5 accepted")
	}
	if _, err := a.Add("g", "alphad/fleet/g/model/part/0", []byte("junk")); err == nil {
		t.Error("junk part accepted")
	}
	if _, err := a.Add("g", "alphad/fleet/g/model", append(bytes.Clone(msgs[11].Payload), 0)); err == nil {
		t.Error("long manifest accepted")
	}
}

// FuzzAssembler: any sequence of model-topic and part messages never
// panics; an envelope comes out of a manifest only when it was valid.
func FuzzAssembler(f *testing.F) {
	msgs := Messages("g", bytes.Repeat([]byte("alphad"), 500), 1000)
	f.Add(msgs[0].Payload, msgs[1].Payload, msgs[len(msgs)-1].Payload, uint8(0))
	f.Add([]byte("ALPHAFLP"), []byte{}, []byte("ALPHAFLM"), uint8(3))
	f.Fuzz(func(t *testing.T, p0, p1, m []byte, idx uint8) {
		a := NewAssembler()
		a.Add("g", PartTopic("g", int(idx%4)), p0)
		a.Add("g", PartTopic("g", int(idx%4)+1), p1)
		out, err := a.Add("g", ModelTopic("g"), m)
		if err == nil && out != nil && IsManifest(m) {
			if _, perr := parseManifest(m); perr != nil {
				t.Fatal("assembled from a bad manifest")
			}
		}
	})
}
