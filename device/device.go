// Package device defines what alphad needs from hardware: a Camera that
// yields Frames. The sources live in sub-packages (v4l2, camerafile,
// libcamera); the GPIO buttons and LED in device/panel.
package device

import (
	"context"
	"fmt"
	"io"
	"time"
)

// ErrEnded is returned by Next of a finite source (a file or folder
// without loop) after its last frame. It is an io.EOF too. A supervisor
// does not reopen an ended source.
var ErrEnded = fmt.Errorf("the source ended (add loop=true to repeat it): %w", io.EOF)

// PixelFormat names the layout of Frame.Data.
type PixelFormat string

// Pixel formats alphad decodes.
const (
	YUYV  PixelFormat = "YUYV"  // packed 4:2:2, Y0 U Y1 V
	RGB24 PixelFormat = "RGB24" // packed R G B
	MJPEG PixelFormat = "MJPEG" // one JPEG image per frame
)

// Frame is one captured image. Data belongs to the camera and is valid until
// the next call to Next or Close; copy it to keep it.
type Frame struct {
	Seq    uint64    // sequence number, from 1, increasing
	Time   time.Time // capture time
	Format PixelFormat
	Width  int
	Height int
	Stride int // bytes per row for YUYV/RGB24; 0 for MJPEG
	Data   []byte
}

// Camera yields frames. Next blocks until a frame is ready or ctx ends.
type Camera interface {
	Next(ctx context.Context) (Frame, error)
	Close() error
}
