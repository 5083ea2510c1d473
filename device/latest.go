package device

import (
	"context"
	"sync"
)

// Latest hands frames from a capture goroutine to a consumer, keeping
// only the newest: a frame not yet taken when the next one arrives is
// dropped and counted. Frame buffers are recycled: the producer fills
// the buffer Put returned (or Buffer), so steady capture allocates
// nothing.
//
// Put and Buffer are called by one producer, Next by one consumer, Close
// and Counts from anywhere.
type Latest struct {
	closedErr error         // what Next returns after Close or Fail (guarded by mu)
	notify    chan struct{} // a frame is ready (buffered, 1)
	done      chan struct{} // closed by Close

	mu      sync.Mutex
	ready   Frame
	has     bool     // ready holds a frame not yet taken
	free    [][]byte // buffers to fill
	out     []byte   // the buffer of the frame Next last returned
	seq     uint64
	frames  uint64
	dropped uint64
	closed  bool
}

// NewLatest returns an empty Latest whose Next returns closedErr after
// Close.
func NewLatest(closedErr error) *Latest {
	return &Latest{closedErr: closedErr, notify: make(chan struct{}, 1), done: make(chan struct{})}
}

// Buffer returns a recycled buffer to fill, empty, or nil when there is
// none.
func (l *Latest) Buffer() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.takeFree()
}

func (l *Latest) takeFree() []byte {
	n := len(l.free)
	if n == 0 {
		return nil
	}
	b := l.free[n-1]
	l.free = l.free[:n-1]
	return b
}

// Put makes f the latest frame, numbering it (f.Seq is set from 1 on), and
// returns an empty buffer to fill next (nil when none is free). f.Data
// belongs to l from here on. A frame put before the last was taken is
// dropped and its buffer returned. After Close, Put keeps nothing and
// returns f.Data emptied.
func (l *Latest) Put(f Frame) []byte {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return f.Data[:0]
	}
	var spare []byte
	if l.has {
		l.dropped++
		spare = l.ready.Data[:0]
	} else {
		spare = l.takeFree()
	}
	l.seq++
	l.frames++
	f.Seq = l.seq
	l.ready, l.has = f, true
	l.mu.Unlock()
	select {
	case l.notify <- struct{}{}:
	default:
	}
	return spare
}

// Next returns the latest frame, waiting for one newer than the last it
// returned, until ctx ends or l is closed. The frame's Data stays valid
// until the next call to Next.
func (l *Latest) Next(ctx context.Context) (Frame, error) {
	for {
		l.mu.Lock()
		if l.closed {
			err := l.closedErr
			l.mu.Unlock()
			return Frame{}, err
		}
		if l.has {
			f := l.ready
			l.ready, l.has = Frame{}, false
			if l.out != nil {
				l.free = append(l.free, l.out[:0])
			}
			l.out = f.Data
			l.mu.Unlock()
			return f, nil
		}
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return Frame{}, ctx.Err()
		case <-l.done:
		case <-l.notify:
		}
	}
}

// Counts reports the frames put and those dropped before Next took them.
func (l *Latest) Counts() (frames, dropped uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.frames, l.dropped
}

// Close makes Next return the closed error, waking a waiting one. It
// reports whether this call closed l (false if it was already closed or
// failed).
func (l *Latest) Close() bool { return l.Fail(nil) }

// Fail is Close with err, not the closed error, for Next to return (nil:
// the closed error): the producer reports why frames ended. A frame not
// yet taken is dropped. It reports whether this call closed l.
func (l *Latest) Fail(err error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	if err != nil {
		l.closedErr = err
	}
	l.closed = true
	close(l.done)
	return true
}
