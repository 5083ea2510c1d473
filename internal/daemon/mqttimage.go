package daemon

import (
	"context"
	"time"
)

// imageLink is a link that publishes camera images (the MQTT client with
// mqtt.image_interval set).
type imageLink interface {
	PublishImage(jpeg []byte)
	ImageInterval() time.Duration
}

// publishImages hands a link what the camera sees — the live view's JPEG
// of the model's input — at most every ImageInterval, until ctx ends. It
// is a watcher of the live view like a web page, so nothing is encoded
// while no link asks for images.
func (d *Daemon) publishImages(ctx context.Context, l imageLink) error {
	every := l.ImageInterval()
	if every <= 0 {
		return nil
	}
	frames, stop := d.WatchFrames()
	defer stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case jpg := <-frames:
			if now := time.Now(); now.Sub(last) >= every {
				last = now
				l.PublishImage(jpg)
			}
		}
	}
}
