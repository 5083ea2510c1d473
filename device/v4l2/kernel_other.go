//go:build !linux || !cgo

package v4l2

import "errors"

// System returns the Kernel of this machine. This build has no V4L2
// support (it needs Linux and cgo for go4vl); its Open always fails.
func System() Kernel { return noKernel{} }

type noKernel struct{}

func (noKernel) Open(path string) (Device, error) {
	return nil, errors.New("V4L2 support is not compiled in (needs linux and cgo; use libcamera:, mjpeg: or dir: sources)")
}
