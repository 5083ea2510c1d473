//go:build amd64 && !purego

package native

import "golang.org/x/sys/cpu"

// addF32 is in add_amd64.s.
//
//go:noescape
func addF32(dst, a, b *float32, n int)

// haveAddF32 reports whether this CPU runs addF32 (AVX).
func haveAddF32() bool { return cpu.X86.HasAVX }
