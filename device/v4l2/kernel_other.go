//go:build !linux

package v4l2

import "errors"

// System returns the Kernel of this machine. V4L2 exists only on Linux;
// elsewhere Open always fails.
func System() Kernel { return noKernel{} }

type noKernel struct{}

func (noKernel) Open(path string) (Device, error) {
	return nil, errors.New("V4L2 needs Linux (use libcamera:, mjpeg:, dir: or image: sources)")
}
