package native

import (
	"math"

	"github.com/alphad/alphad/pipeline/tflite"
)

// SOFTMAX, float32, over the last dimension: exp(β(x-max)) / Σ.
func prepareSoftmax(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 1, 1); err != nil {
		return nil, err
	}
	in, out := op.Inputs[0], op.Outputs[0]
	if isQuant(p, in) {
		return prepareQuantSoftmax(p, op)
	}
	for _, t := range []int{in, out} {
		if err := checkType(p, op, t, tflite.Float32); err != nil {
			return nil, err
		}
	}
	shape := p.tensor(in).Shape
	if len(shape) == 0 || p.tensor(out).NumElements() != p.tensor(in).NumElements() {
		return nil, p.unsupported(op, "input shape %v, output shape %v", shape, p.tensor(out).Shape)
	}
	beta := float32(1)
	if o, ok := op.Options.(*tflite.SoftmaxOptions); ok {
		beta = o.Beta
	}
	n := shape[len(shape)-1]
	src, dst := p.f32(in), p.f32(out)
	return func() {
		for i := 0; i+n <= len(dst); i += n {
			softmax(dst[i:i+n], src[i:i+n], beta)
		}
	}, nil
}

// softmax writes the softmax of x (scaled by beta) into dst.
func softmax(dst, x []float32, beta float32) {
	if len(x) == 0 {
		return
	}
	x = x[:len(dst)]
	m := x[0]
	for _, v := range x {
		// Not the max builtin, whose NaN and signed-zero ordering costs
		// more than the exponentials; a NaN gives NaN outputs either way.
		if v > m {
			m = v
		}
	}
	inv := 1 / expShifted(dst, x, m, beta)
	for i := range dst {
		dst[i] *= inv
	}
}

// expShifted writes e^((x[i]-m)·beta) into dst[i] and returns their sum
// (added in order), in float32 arithmetic within 2 ulp of math.Exp
// rounded to float32: Cephes' expf (y = n·ln2 + r with |r| ≤ ln2/2, a
// degree-7 polynomial for e^r, 2^n put into the exponent), written out in
// the loop so that the compiler keeps it in registers. math.Exp (float64,
// about five times slower here) takes the arguments whose result would be
// subnormal or overflow, and NaN.
func expShifted(dst, x []float32, m, beta float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	x = x[:len(dst)]
	var sum float32
	for i, v := range x {
		y := (v - m) * beta
		if !(y > -87 && y < 88) {
			e := float32(math.Exp(float64(y)))
			dst[i] = e
			sum += e
			continue
		}
		n := float32(math.Floor(float64(y*log2e + 0.5))) // ROUNDSD, no branch
		r := y - n*ln2hi - n*ln2lo
		p := float32(1.9875691500e-4)
		p = p*r + 1.3981999507e-3
		p = p*r + 8.3334519073e-3
		p = p*r + 4.1665795894e-2
		p = p*r + 1.6666665459e-1
		p = p*r + 5.0000001201e-1
		p = p*r*r + r + 1
		e := p * math.Float32frombits(uint32(int32(n)+127)<<23)
		dst[i] = e
		sum += e
	}
	return sum
}
