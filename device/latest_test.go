package device_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/devicetest"
)

var errClosed = errors.New("test: closed")

func frame(b byte) device.Frame {
	return device.Frame{Format: device.RGB24, Width: 1, Height: 1, Stride: 3, Data: []byte{b, b, b}}
}

func TestLatest(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name        string
		puts        int // frames put before Next
		wantSeq     uint64
		wantByte    byte
		wantDropped uint64
	}{
		{name: "one", puts: 1, wantSeq: 1, wantByte: 0, wantDropped: 0},
		{name: "newest wins", puts: 3, wantSeq: 3, wantByte: 2, wantDropped: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := device.NewLatest(errClosed)
			defer l.Close()
			for i := range tt.puts {
				l.Put(frame(byte(i)))
			}
			f, err := l.Next(ctx)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if f.Seq != tt.wantSeq || f.Data[0] != tt.wantByte || f.Width != 1 || f.Format != device.RGB24 {
				t.Errorf("Next = seq %d data %v %+v, want seq %d data[0] %d", f.Seq, f.Data, f, tt.wantSeq, tt.wantByte)
			}
			frames, dropped := l.Counts()
			if frames != uint64(tt.puts) || dropped != tt.wantDropped {
				t.Errorf("Counts = %d, %d; want %d, %d", frames, dropped, tt.puts, tt.wantDropped)
			}
		})
	}
}

func TestLatestBufferReuse(t *testing.T) {
	ctx := context.Background()
	l := device.NewLatest(errClosed)
	defer l.Close()
	if b := l.Buffer(); b != nil {
		t.Fatalf("Buffer of a new Latest = %v, want nil", b)
	}
	a, b := make([]byte, 3, 8), make([]byte, 3, 8)
	if spare := l.Put(device.Frame{Data: a}); spare != nil {
		t.Fatalf("first Put returned %v, want nil", spare)
	}
	// b replaces a before Next: a comes back, empty, to be filled again.
	spare := l.Put(device.Frame{Data: b})
	if len(spare) != 0 || cap(spare) != 8 || &spare[:1][0] != &a[0] {
		t.Fatalf("Put over an untaken frame returned len %d cap %d, want a's buffer emptied", len(spare), cap(spare))
	}
	f, err := l.Next(ctx)
	if err != nil || &f.Data[0] != &b[0] {
		t.Fatalf("Next = %v, %v; want b", f.Data, err)
	}
	// The buffer Next returned is recycled by the following Next.
	l.Put(device.Frame{Data: spare[:3]})
	if _, err := l.Next(ctx); err != nil {
		t.Fatalf("Next: %v", err)
	}
	got := l.Buffer()
	if len(got) != 0 || cap(got) != 8 || &got[:1][0] != &b[0] {
		t.Fatalf("Buffer after two Nexts = len %d cap %d, want b's buffer emptied", len(got), cap(got))
	}
	if again := l.Buffer(); again != nil {
		t.Fatalf("second Buffer = %v, want nil (only one was free)", again)
	}
}

func TestLatestWaits(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	l := device.NewLatest(errClosed)
	defer l.Close()
	ctx, waiting := devicetest.WatchDone(context.Background())
	go func() {
		<-waiting // Next found no frame and waits
		l.Put(frame(7))
	}()
	f, err := l.Next(ctx)
	if err != nil || f.Data[0] != 7 || f.Seq != 1 {
		t.Fatalf("Next = %+v, %v; want the frame put later", f, err)
	}
}

func TestLatestCtxCancel(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	l := device.NewLatest(errClosed)
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := l.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next = %v, want %v", err, context.DeadlineExceeded)
	}
}

func TestLatestCloseWhileWaiting(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	l := device.NewLatest(errClosed)
	errc := make(chan error, 1)
	ctx, waiting := devicetest.WatchDone(context.Background())
	go func() {
		_, err := l.Next(ctx)
		errc <- err
	}()
	<-waiting
	if !l.Close() {
		t.Fatal("first Close = false, want true")
	}
	if err := <-errc; !errors.Is(err, errClosed) {
		t.Fatalf("waiting Next = %v, want %v", err, errClosed)
	}
	if l.Close() {
		t.Fatal("second Close = true, want false")
	}
	// After Close: Next fails even with a frame put, and Put keeps nothing.
	data := []byte{1, 2, 3}
	if spare := l.Put(device.Frame{Data: data}); len(spare) != 0 || &spare[:1][0] != &data[0] {
		t.Fatalf("Put after Close = %v, want its own buffer emptied", spare)
	}
	if _, err := l.Next(context.Background()); !errors.Is(err, errClosed) {
		t.Fatalf("Next after Close = %v, want %v", err, errClosed)
	}
	if frames, _ := l.Counts(); frames != 0 {
		t.Fatalf("frames after Put on a closed Latest = %d, want 0", frames)
	}
}

// TestLatestFail: after Fail, Next returns the producer's error, a
// waiting Next too; Close and Fail after that change nothing.
func TestLatestFail(t *testing.T) {
	l := device.NewLatest(errClosed)
	errGone := errors.New("test: device gone")
	errc := make(chan error, 1)
	ctx, waiting := devicetest.WatchDone(context.Background())
	go func() {
		_, err := l.Next(ctx)
		errc <- err
	}()
	<-waiting
	if !l.Fail(errGone) {
		t.Fatal("Fail = false, want true")
	}
	if err := <-errc; !errors.Is(err, errGone) {
		t.Fatalf("waiting Next = %v, want %v", err, errGone)
	}
	if l.Fail(errors.New("other")) || l.Close() {
		t.Fatal("Fail or Close after Fail = true, want false")
	}
	if _, err := l.Next(context.Background()); !errors.Is(err, errGone) {
		t.Fatalf("Next = %v, want %v", err, errGone)
	}
}
