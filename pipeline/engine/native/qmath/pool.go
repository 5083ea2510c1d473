package qmath

// PoolShape is the geometry of a 2-D pooling over an NHWC tensor.
type PoolShape struct {
	Batch, InH, InW, C int
	OutH, OutW         int
	KH, KW             int
	StrideH, StrideW   int
	PadTop, PadLeft    int
}

// window is the clipped filter window of output (oy, ox).
func (s *PoolShape) window(oy, ox int) (y0, y1, x0, x1 int) {
	iy := oy*s.StrideH - s.PadTop
	ix := ox*s.StrideW - s.PadLeft
	y0, y1 = max(0, -iy), min(s.KH, s.InH-iy)
	x0, x1 = max(0, -ix), min(s.KW, s.InW-ix)
	return iy + y0, iy + y1, ix + x0, ix + x1
}

// poolBlock is the number of channels a pooling kernel accumulates at a
// time (on the stack).
const poolBlock = 64

// AveragePool is TFLite's quantized AVERAGE_POOL_2D: the rounded mean of
// the in-bounds window values (ties away from zero), clamped to [lo, hi];
// input and output share scale and zero point. It computes channels
// [c0, c1) of output rows [y0, y1) of every batch; disjoint ranges may run
// concurrently.
func AveragePool(dst, src []byte, t Type, s *PoolShape, lo, hi int32, y0, y1, c0, c1 int) {
	flip, off := t.flip(), t.offset()
	var acc [poolBlock]int32
	for b := 0; b < s.Batch; b++ {
		for oy := y0; oy < y1; oy++ {
			for ox := 0; ox < s.OutW; ox++ {
				iy0, iy1, ix0, ix1 := s.window(oy, ox)
				n := int32((iy1 - iy0) * (ix1 - ix0))
				out := dst[((b*s.OutH+oy)*s.OutW+ox)*s.C:][:s.C]
				for cb := c0; cb < c1; cb += poolBlock {
					m := min(poolBlock, c1-cb)
					a := acc[:m]
					clear(a)
					switch {
					case iy1 <= iy0 || ix1 <= ix0:
						// An empty window: n is 0.
					case ix1-ix0 == s.InW:
						// Whole input rows: the window is one run of pixels.
						colSum(a, src[((b*s.InH+iy0)*s.InW)*s.C+cb:], (iy1-iy0)*s.InW, s.C, flip)
					default:
						for iy := iy0; iy < iy1; iy++ {
							colSum(a, src[((b*s.InH+iy)*s.InW+ix0)*s.C+cb:], ix1-ix0, s.C, flip)
						}
					}
					o := out[cb : cb+m]
					for j, u := range a {
						if n == 0 {
							o[j] = t.Byte(clamp(0, lo, hi))
							continue
						}
						acc := u - n*off
						if acc > 0 {
							acc = (acc + n/2) / n
						} else {
							acc = (acc - n/2) / n
						}
						o[j] = t.Byte(clamp(acc, lo, hi))
					}
				}
			}
		}
	}
}

// MaxPool is TFLite's quantized MAX_POOL_2D over channels [c0, c1) of
// output rows [y0, y1), clamped to [lo, hi].
func MaxPool(dst, src []byte, t Type, s *PoolShape, lo, hi int32, y0, y1, c0, c1 int) {
	flip, off := t.flip(), t.offset()
	var acc [poolBlock]byte
	for b := 0; b < s.Batch; b++ {
		for oy := y0; oy < y1; oy++ {
			for ox := 0; ox < s.OutW; ox++ {
				iy0, iy1, ix0, ix1 := s.window(oy, ox)
				out := dst[((b*s.OutH+oy)*s.OutW+ox)*s.C:][:s.C]
				for cb := c0; cb < c1; cb += poolBlock {
					m := min(poolBlock, c1-cb)
					a := acc[:m]
					clear(a) // the unsigned domain's minimum
					for iy := iy0; iy < iy1; iy++ {
						for ix := ix0; ix < ix1; ix++ {
							row := src[((b*s.InH+iy)*s.InW+ix)*s.C+cb:][:m]
							for j, v := range row {
								a[j] = max(a[j], v^flip)
							}
						}
					}
					o := out[cb : cb+m]
					for j, u := range a {
						o[j] = t.Byte(clamp(int32(u)-off, lo, hi))
					}
				}
			}
		}
	}
}
