//go:build arm64 && !purego

package native

import "unsafe"

// dwRow8 is in depthwise_arm64.s.
//
//go:noescape
func dwRow8(dst *float32, src *float32, w *float32, bias *float32, n int, cs int, rs int, step int, lo, hi float32)

// haveDWRow8 reports whether this CPU runs dwRow8: every arm64 CPU has
// NEON.
func haveDWRow8() bool { return true }

// row8 runs dwRow8 for channels [ch,ch+8) of output columns [xlo,xlo+n)
// of line oy; the caller has checked every index (see row3x3).
func (d *dwConv) row8(dst, src []float32, oy, iy0, xlo, n, ch int) {
	c := d.c
	ix := xlo*d.x.stride - d.x.pad
	p := unsafe.Pointer(&src[iy0*d.x.in*c+ix*c+ch])
	o := unsafe.Pointer(&dst[(oy*d.x.out+xlo)*c+ch])
	dwRow8((*float32)(o), (*float32)(p), &d.w[ch], &d.bias[ch], n, 4*c, 4*d.x.in*c, 4*d.x.stride*c, d.lo, d.hi)
}
