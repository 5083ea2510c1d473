package native

import (
	"math"

	"github.com/alphad/alphad/pipeline/tflite"
)

// Shared geometry of AVERAGE_POOL_2D and MAX_POOL_2D (float32, NHWC).

type pool2d struct {
	y, x     window
	n, c     int
	src, dst []float32
	lo, hi   float32
}

func preparePool2D(p *plan, op *tflite.Operator) (*pool2d, error) {
	in, out := op.Inputs[0], op.Outputs[0]
	opts, ok := op.Options.(*tflite.Pool2DOptions)
	if !ok {
		return nil, p.unsupported(op, "missing options")
	}
	for _, t := range []int{in, out} {
		if err := checkType(p, op, t, tflite.Float32); err != nil {
			return nil, err
		}
	}
	n, h, w, c, ok := nhwc(p, in)
	if !ok {
		return nil, p.unsupported(op, "input must be 4-D")
	}
	k := &pool2d{
		y: newWindow(h, opts.FilterHeight, opts.StrideH, 1, opts.Padding),
		x: newWindow(w, opts.FilterWidth, opts.StrideW, 1, opts.Padding),
		n: n, c: c, src: p.f32(in), dst: p.f32(out),
	}
	if err := checkShape(p, op, out, n, k.y.out, k.x.out, c); err != nil {
		return nil, err
	}
	var err error
	if k.lo, k.hi, err = actRange(p, op, opts.Activation); err != nil {
		return nil, err
	}
	return k, nil
}

// poolBlock is the channel block a pooling job is split into.
const poolBlock = 64

// job splits the pool over channel blocks (each output element depends on
// its own channel only, so any split gives the same bits).
func (k *pool2d) job(p *plan, isMax bool) *job {
	blocks := (k.c + poolBlock - 1) / poolBlock
	work := k.n * k.y.out * k.x.out * k.y.filter * k.x.filter * k.c * elemWork
	return p.pool.newJob(blocks, work, func(b0, b1 int) {
		k.channels(isMax, b0*poolBlock, min(b1*poolBlock, k.c))
	})
}

// channels runs the pool for channels [c0,c1); isMax selects MAX_POOL_2D,
// else the average over the taps inside the image (TFLite excludes
// padding from the count).
func (k *pool2d) channels(isMax bool, c0, c1 int) {
	c := k.c
	for b := 0; b < k.n; b++ {
		src := k.src[b*k.y.in*k.x.in*c:]
		for oy := 0; oy < k.y.out; oy++ {
			y0 := max(oy*k.y.stride-k.y.pad, 0)
			y1 := min(oy*k.y.stride-k.y.pad+k.y.filter, k.y.in)
			for ox := 0; ox < k.x.out; ox++ {
				x0 := max(ox*k.x.stride-k.x.pad, 0)
				x1 := min(ox*k.x.stride-k.x.pad+k.x.filter, k.x.in)
				o := k.dst[((b*k.y.out+oy)*k.x.out+ox)*c+c0 : ((b*k.y.out+oy)*k.x.out+ox)*c+c1]
				if !isMax {
					sumWindow(o, src, (y0*k.x.in+x0)*c+c0, y1-y0, x1-x0, k.x.in*c, c)
					scale := 1 / float32(max((y1-y0)*(x1-x0), 1))
					for i, v := range o {
						o[i] = min(max(v*scale, k.lo), k.hi)
					}
					continue
				}
				start := float32(0)
				if isMax {
					start = float32(math.Inf(-1))
				}
				for i := range o {
					o[i] = start
				}
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						in := src[(iy*k.x.in+ix)*c+c0 : (iy*k.x.in+ix)*c+c1]
						if isMax {
							for i, v := range in {
								o[i] = max(o[i], v)
							}
						} else {
							for i, v := range in {
								o[i] += v
							}
						}
					}
				}
				scale := float32(1)
				if !isMax {
					scale = 1 / float32(max((y1-y0)*(x1-x0), 1))
				}
				for i, v := range o {
					if !isMax {
						v *= scale
					}
					o[i] = min(max(v, k.lo), k.hi)
				}
			}
		}
	}
}

// sumWindow writes into o[ch] the sum of src[base + r·rowStride + x·c +
// ch] over rows r < rows and columns x < cols, adding the taps in that
// order (row by row) from zero: the sums of a pooling window, tap by tap
// into o with addF32 where there is one, else eight channels at a time in
// registers (each sum is a plain sequential sum either way: the same
// bits).
func sumWindow(o, src []float32, base, rows, cols, rowStride, c int) {
	n := len(o)
	if rows <= 0 || cols <= 0 {
		clear(o)
		return
	}
	_ = src[base+(rows-1)*rowStride+(cols-1)*c+n-1]
	i := 0
	if n8 := n / 8 * 8; n8 > 0 && haveAddF32() {
		// Tap by tap into o with the vector add: the same sums.
		clear(o[:n8])
		for r := range rows {
			off := base + r*rowStride
			for range cols {
				addF32(&o[0], &o[0], &src[off], n8)
				off += c
			}
		}
		i = n8
	}
	for ; i+8 <= n; i += 8 {
		var s0, s1, s2, s3, s4, s5, s6, s7 float32
		for r := range rows {
			off := base + r*rowStride + i
			for range cols {
				v := (*[8]float32)(src[off : off+8])
				s0 += v[0]
				s1 += v[1]
				s2 += v[2]
				s3 += v[3]
				s4 += v[4]
				s5 += v[5]
				s6 += v[6]
				s7 += v[7]
				off += c
			}
		}
		*(*[8]float32)(o[i : i+8]) = [8]float32{s0, s1, s2, s3, s4, s5, s6, s7}
	}
	for ; i < n; i++ {
		var s float32
		for r := range rows {
			off := base + r*rowStride + i
			for range cols {
				s += src[off]
				off += c
			}
		}
		o[i] = s
	}
}
