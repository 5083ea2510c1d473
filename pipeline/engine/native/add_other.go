//go:build !amd64 || purego

package native

// haveAddF32 reports whether an assembly add kernel exists: not on this
// platform.
func haveAddF32() bool { return false }

// addF32 is never called here (haveAddF32 is false).
func addF32(dst, a, b *float32, n int) {
	panic("native: no add kernel on this platform")
}
