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

// AveragePool is TFLite's quantized AVERAGE_POOL_2D: the rounded mean of
// the in-bounds window values (ties away from zero), clamped to [lo, hi];
// input and output share scale and zero point. It computes output rows
// [y0, y1) of every batch.
func AveragePool(dst, src []byte, t Type, s *PoolShape, lo, hi int32, y0, y1 int) {
	for b := 0; b < s.Batch; b++ {
		for oy := y0; oy < y1; oy++ {
			for ox := 0; ox < s.OutW; ox++ {
				iy0, iy1, ix0, ix1 := s.window(oy, ox)
				n := int32((iy1 - iy0) * (ix1 - ix0))
				out := dst[((b*s.OutH+oy)*s.OutW+ox)*s.C:][:s.C]
				for c := range out {
					var acc int32
					for iy := iy0; iy < iy1; iy++ {
						row := src[((b*s.InH+iy)*s.InW)*s.C+c:]
						for ix := ix0; ix < ix1; ix++ {
							acc += t.Value(row[ix*s.C])
						}
					}
					if n == 0 {
						out[c] = t.Byte(clamp(0, lo, hi))
						continue
					}
					if acc > 0 {
						acc = (acc + n/2) / n
					} else {
						acc = (acc - n/2) / n
					}
					out[c] = t.Byte(clamp(acc, lo, hi))
				}
			}
		}
	}
}

// MaxPool is TFLite's quantized MAX_POOL_2D over output rows [y0, y1).
func MaxPool(dst, src []byte, t Type, s *PoolShape, lo, hi int32, y0, y1 int) {
	for b := 0; b < s.Batch; b++ {
		for oy := y0; oy < y1; oy++ {
			for ox := 0; ox < s.OutW; ox++ {
				iy0, iy1, ix0, ix1 := s.window(oy, ox)
				out := dst[((b*s.OutH+oy)*s.OutW+ox)*s.C:][:s.C]
				for c := range out {
					m := t.Min()
					for iy := iy0; iy < iy1; iy++ {
						row := src[((b*s.InH+iy)*s.InW)*s.C+c:]
						for ix := ix0; ix < ix1; ix++ {
							m = max(m, t.Value(row[ix*s.C]))
						}
					}
					out[c] = t.Byte(clamp(m, lo, hi))
				}
			}
		}
	}
}
