package fleet

import (
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/cputime"
)

// reportCPU reports the process CPU time per iteration since t0: on a
// shared machine it is steadier than the wall time.
func reportCPU(b *testing.B, t0 time.Duration) {
	if d := cputime.Process() - t0; d > 0 && b.N > 0 {
		b.ReportMetric(float64(d.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
	}
}

// BenchmarkReceive is what a device does with a publication before it
// touches its store: assemble the parts, parse, verify the signature.
// Sizes: a head without hidden layer (2 classes), the default head
// (256 hidden units, ~1.5 MB), and a 5-member ensemble.
func BenchmarkReceive(b *testing.B) {
	key := testKey(b)
	pub := key.Public().(ed25519.PublicKey)
	kr := Keyring{KeyID(pub): pub}
	for _, size := range []int{10 << 10, 1536 << 10, 7680 << 10} {
		body := make([]byte, size)
		env, err := Encode(testMeta(), body, key)
		if err != nil {
			b.Fatal(err)
		}
		msgs := Messages("shop", env, PartSize)
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(env)))
			defer reportCPU(b, cputime.Process())
			for b.Loop() {
				a := NewAssembler()
				var got []byte
				for _, m := range msgs {
					if got, err = a.Add("shop", m.Topic, m.Payload); err != nil {
						b.Fatal(err)
					}
				}
				p, err := Parse(got)
				if err != nil {
					b.Fatal(err)
				}
				if err := p.Verify(kr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncode is the publisher's side: sign and split.
func BenchmarkEncode(b *testing.B) {
	key := testKey(b)
	body := make([]byte, 1536<<10)
	b.SetBytes(int64(len(body)))
	defer reportCPU(b, cputime.Process())
	for b.Loop() {
		env, err := Encode(testMeta(), body, key)
		if err != nil {
			b.Fatal(err)
		}
		Messages("shop", env, PartSize)
	}
}
