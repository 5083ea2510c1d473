//go:build amd64 && !purego

package native

import "golang.org/x/sys/cpu"

// dwRow8 is in depthwise_amd64.s.
//
//go:noescape
func dwRow8(dst *float32, src *float32, w *float32, bias *float32, n int, cs int, rs int, step int, lo, hi float32)

// haveDWRow8 reports whether this CPU runs dwRow8 (AVX2 and FMA).
func haveDWRow8() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

// dwLine8 is in depthwise_amd64.s.
//
//go:noescape
func dwLine8(dst *float32, src *float32, w *float32, bias *float32, groups int, segs *dwSeg, cs int, rs int, wrs int, step int, lo, hi float32)

// haveDWLine8 reports whether this CPU runs dwLine8 (AVX2 and FMA).
func haveDWLine8() bool { return haveDWRow8() }

// dwLine16 is in depthwise_amd64.s.
//
//go:noescape
func dwLine16(dst *float32, src *float32, w *float32, bias *float32, groups int, segs *dwSeg, cs int, rs int, wrs int, step int, lo, hi float32)

// haveDWLine16 reports whether this CPU runs dwLine16 (AVX-512F).
func haveDWLine16() bool { return cpu.X86.HasAVX512F && haveDWLine8() }
