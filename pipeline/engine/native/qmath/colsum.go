package qmath

import "encoding/binary"

// colSum adds to a[j], for every j < len(a), the column sum
// Σ_{r<rows} src[r·stride+j]^flip: the pooling and MEAN kernels' inner
// loop. It reads eight bytes at a time and adds the even and the odd bytes
// of each word in 16-bit lanes, which 256 rows of 255 cannot overflow.
func colSum(a []int32, src []byte, rows, stride int, flip byte) {
	if rows <= 0 || len(a) == 0 {
		return
	}
	_ = src[(rows-1)*stride+len(a)-1]
	const lanes = 0x00ff00ff00ff00ff
	f := uint64(flip) * 0x0101010101010101
	n := len(a) &^ 31
	for j := 0; j < n; j += 32 {
		// Four words a row: four pairs of independent sums.
		for r0 := 0; r0 < rows; r0 += 256 {
			var e0, o0, e1, o1, e2, o2, e3, o3 uint64
			off := r0*stride + j
			for range min(rows-r0, 256) {
				x := src[off : off+32 : off+32]
				w0 := binary.LittleEndian.Uint64(x[0:]) ^ f
				w1 := binary.LittleEndian.Uint64(x[8:]) ^ f
				w2 := binary.LittleEndian.Uint64(x[16:]) ^ f
				w3 := binary.LittleEndian.Uint64(x[24:]) ^ f
				e0 += w0 & lanes
				o0 += w0 >> 8 & lanes
				e1 += w1 & lanes
				o1 += w1 >> 8 & lanes
				e2 += w2 & lanes
				o2 += w2 >> 8 & lanes
				e3 += w3 & lanes
				o3 += w3 >> 8 & lanes
				off += stride
			}
			addLanes(a[j:j+8], e0, o0)
			addLanes(a[j+8:j+16], e1, o1)
			addLanes(a[j+16:j+24], e2, o2)
			addLanes(a[j+24:j+32], e3, o3)
		}
	}
	for ; n+8 <= len(a); n += 8 {
		for r0 := 0; r0 < rows; r0 += 256 {
			var e, o uint64
			off := r0*stride + n
			for range min(rows-r0, 256) {
				w := binary.LittleEndian.Uint64(src[off:]) ^ f
				e += w & lanes
				o += w >> 8 & lanes
				off += stride
			}
			addLanes(a[n:n+8], e, o)
		}
	}
	for j := n; j < len(a); j++ {
		var sum int32
		for r := range rows {
			sum += int32(src[r*stride+j] ^ flip)
		}
		a[j] += sum
	}
}

// addLanes adds the four 16-bit lanes of the even-byte sums e and of the
// odd-byte sums o to s[0], s[2], s[4], s[6] and s[1], s[3], s[5], s[7].
func addLanes(s []int32, e, o uint64) {
	s = s[:8]
	s[0] += int32(e & 0xffff)
	s[1] += int32(o & 0xffff)
	s[2] += int32(e >> 16 & 0xffff)
	s[3] += int32(o >> 16 & 0xffff)
	s[4] += int32(e >> 32 & 0xffff)
	s[5] += int32(o >> 32 & 0xffff)
	s[6] += int32(e >> 48)
	s[7] += int32(o >> 48)
}
