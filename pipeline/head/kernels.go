package head

// The few vector kernels the head needs. They take dst first and allocate
// nothing; the unrolled loops give the CPU independent accumulators to work
// on (Go does not vectorise). Each has a plain reference loop in
// kernels_test.go.

// dot returns Σ a[i]*b[i]; len(b) must be ≥ len(a).
func dot(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= n; i += 8 {
		aa := a[i : i+8 : i+8]
		bb := b[i : i+8 : i+8]
		s0 += aa[0] * bb[0]
		s1 += aa[1] * bb[1]
		s2 += aa[2] * bb[2]
		s3 += aa[3] * bb[3]
		s4 += aa[4] * bb[4]
		s5 += aa[5] * bb[5]
		s6 += aa[6] * bb[6]
		s7 += aa[7] * bb[7]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// axpyGo does dst[i] += alpha*x[i]; len(x) must be ≥ len(dst). axpy is
// it, or an assembly version.
func axpyGo(dst []float32, alpha float32, x []float32) {
	n := len(dst)
	x = x[:n]
	i := 0
	for ; i+8 <= n; i += 8 {
		d := dst[i : i+8 : i+8]
		xx := x[i : i+8 : i+8]
		d[0] += alpha * xx[0]
		d[1] += alpha * xx[1]
		d[2] += alpha * xx[2]
		d[3] += alpha * xx[3]
		d[4] += alpha * xx[4]
		d[5] += alpha * xx[5]
		d[6] += alpha * xx[6]
		d[7] += alpha * xx[7]
	}
	for ; i < n; i++ {
		dst[i] += alpha * x[i]
	}
}

// dot4 computes the dot products of x with four rows at once, reading x
// once for the four: out[k] = Σ rk[i]*x[i].
func dot4(r0, r1, r2, r3, x []float32) (o0, o1, o2, o3 float32) {
	n := len(x)
	r0, r1, r2, r3 = r0[:n], r1[:n], r2[:n], r3[:n]
	var a0, a1, a2, a3, b0, b1, b2, b3 float32
	i := 0
	for ; i+2 <= n; i += 2 {
		x0, x1 := x[i], x[i+1]
		a0 += r0[i] * x0
		a1 += r1[i] * x0
		a2 += r2[i] * x0
		a3 += r3[i] * x0
		b0 += r0[i+1] * x1
		b1 += r1[i+1] * x1
		b2 += r2[i+1] * x1
		b3 += r3[i+1] * x1
	}
	for ; i < n; i++ {
		a0 += r0[i] * x[i]
		a1 += r1[i] * x[i]
		a2 += r2[i] * x[i]
		a3 += r3[i] * x[i]
	}
	return a0 + b0, a1 + b1, a2 + b2, a3 + b3
}

// gemv computes dst[j] = b[j] + Σ w[j*n+i]*x[i] for a row-major weight
// matrix w of len(dst) rows and n = len(x) columns.
func gemv(dst, w, b, x []float32) {
	n := len(x)
	rows := len(dst)
	j := 0
	for ; j+4 <= rows; j += 4 {
		o0, o1, o2, o3 := dot4(w[j*n:(j+1)*n], w[(j+1)*n:(j+2)*n], w[(j+2)*n:(j+3)*n], w[(j+3)*n:(j+4)*n], x)
		dst[j] = b[j] + o0
		dst[j+1] = b[j+1] + o1
		dst[j+2] = b[j+2] + o2
		dst[j+3] = b[j+3] + o3
	}
	for ; j < rows; j++ {
		dst[j] = b[j] + dot(w[j*n:(j+1)*n], x)
	}
}

// gemm2x4Go computes the dot products of two inputs x0, x1 with four
// weight rows at once (8 accumulators, each x and w element loaded once):
// o[2k+s] = Σ rk[i]*xs[i]. gemm2x4 is it, or an assembly version.
func gemm2x4Go(o *[8]float32, x0, x1, r0, r1, r2, r3 []float32) {
	n := len(x0)
	x1, r0, r1, r2, r3 = x1[:n], r0[:n], r1[:n], r2[:n], r3[:n]
	var a0, a1, a2, a3, b0, b1, b2, b3 float32
	for i, u := range x0 {
		v := x1[i]
		w0, w1, w2, w3 := r0[i], r1[i], r2[i], r3[i]
		a0 += w0 * u
		b0 += w0 * v
		a1 += w1 * u
		b1 += w1 * v
		a2 += w2 * u
		b2 += w2 * v
		a3 += w3 * u
		b3 += w3 * v
	}
	*o = [8]float32{a0, b0, a1, b1, a2, b2, a3, b3}
}

// axpy4Go does dst[i] += a0*x0[i] + a1*x1[i] + a2*x2[i] + a3*x3[i].
// axpy4 is it, or an assembly version.
func axpy4Go(dst []float32, a0, a1, a2, a3 float32, x0, x1, x2, x3 []float32) {
	n := len(dst)
	x0, x1, x2, x3 = x0[:n], x1[:n], x2[:n], x3[:n]
	for i := range dst {
		dst[i] += a0*x0[i] + a1*x1[i] + a2*x2[i] + a3*x3[i]
	}
}

// gemmRows computes dst[s][j] = b[j] + Σ w[j*n+i]*xs[s][i] for each input
// xs[s] (n = len(xs[s])), two inputs and four rows at a time.
func gemmRows(dst [][]float32, w, b []float32, xs [][]float32) {
	var o [8]float32
	s := 0
	for ; s < len(xs); s += 2 {
		x0 := xs[s]
		x1 := x0
		if s+1 < len(xs) {
			x1 = xs[s+1]
		}
		n := len(x0)
		d0 := dst[s]
		d1 := d0
		if s+1 < len(xs) {
			d1 = dst[s+1]
		}
		rows := len(d0)
		j := 0
		for ; j+4 <= rows; j += 4 {
			gemm2x4(&o, x0, x1, w[j*n:(j+1)*n], w[(j+1)*n:(j+2)*n], w[(j+2)*n:(j+3)*n], w[(j+3)*n:(j+4)*n])
			d1[j], d1[j+1], d1[j+2], d1[j+3] = b[j]+o[1], b[j+1]+o[3], b[j+2]+o[5], b[j+3]+o[7]
			d0[j], d0[j+1], d0[j+2], d0[j+3] = b[j]+o[0], b[j+1]+o[2], b[j+2]+o[4], b[j+3]+o[6]
		}
		for ; j < rows; j++ {
			r := w[j*n : (j+1)*n]
			d1[j] = b[j] + dot(r, x1)
			d0[j] = b[j] + dot(r, x0)
		}
	}
}

// adamStepGo applies one Adam step to the parameters w with gradient g
// plus l2·w (the L2 term's), moments m and v, step size lr and epsilon
// eps (both bias-corrected). adamStep is it, or an assembly version.
func adamStepGo(w, g, m, v []float32, lr, eps, l2 float32) {
	n := len(w)
	g, m, v = g[:n], m[:n], v[:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		ww, gg, mm, vv := w[i:i+4:i+4], g[i:i+4:i+4], m[i:i+4:i+4], v[i:i+4:i+4]
		g0 := gg[0] + l2*ww[0]
		g1 := gg[1] + l2*ww[1]
		g2 := gg[2] + l2*ww[2]
		g3 := gg[3] + l2*ww[3]
		m0 := beta1*mm[0] + (1-beta1)*g0
		m1 := beta1*mm[1] + (1-beta1)*g1
		m2 := beta1*mm[2] + (1-beta1)*g2
		m3 := beta1*mm[3] + (1-beta1)*g3
		v0 := beta2*vv[0] + (1-beta2)*g0*g0
		v1 := beta2*vv[1] + (1-beta2)*g1*g1
		v2 := beta2*vv[2] + (1-beta2)*g2*g2
		v3 := beta2*vv[3] + (1-beta2)*g3*g3
		mm[0], mm[1], mm[2], mm[3] = m0, m1, m2, m3
		vv[0], vv[1], vv[2], vv[3] = v0, v1, v2, v3
		ww[0] -= lr * m0 / (sqrt32(v0) + eps)
		ww[1] -= lr * m1 / (sqrt32(v1) + eps)
		ww[2] -= lr * m2 / (sqrt32(v2) + eps)
		ww[3] -= lr * m3 / (sqrt32(v3) + eps)
	}
	for ; i < n; i++ {
		gi := g[i] + l2*w[i]
		mi := beta1*m[i] + (1-beta1)*gi
		vi := beta2*v[i] + (1-beta2)*gi*gi
		m[i], v[i] = mi, vi
		w[i] -= lr * mi / (sqrt32(vi) + eps)
	}
}
