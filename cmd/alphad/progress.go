package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress shows the progress of a long step on stderr: one line redrawn
// in place on a terminal ("training  [#######.......]  48 %  head 2/4
// epoch 12/50"), plain lines otherwise (one per 10 % step or phase
// change, so a log stays short). The fraction is the one monotonic
// progress (store.Tracker) the daemon also publishes.
type progress struct {
	w        io.Writer
	tty      bool
	what     string
	last     time.Time
	step     int    // last 10 % step printed (plain lines)
	phase    string // last detail prefix printed (plain lines)
	drawn    bool
	minFrame time.Duration
}

// newProgress returns a progress display for what on w (a bar when w is a
// terminal).
func newProgress(w io.Writer, what string) *progress {
	return &progress{w: w, tty: isTerminal(w), what: what, step: -1, minFrame: 100 * time.Millisecond}
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// update shows fraction f (0..1) with a detail ("embedding 120/300",
// "head 2/4 epoch 12/50 loss 0.21"); phase groups the plain lines.
func (p *progress) update(f float64, phase, detail string) {
	f = min(max(f, 0), 1)
	pct := int(100 * f)
	if p.tty {
		now := time.Now()
		if p.drawn && now.Sub(p.last) < p.minFrame && pct < 100 {
			return
		}
		p.last = now
		const width = 24
		n := int(f * width)
		line := fmt.Sprintf("%-10s [%s%s] %3d %%  %s", p.what, strings.Repeat("#", n), strings.Repeat(".", width-n), pct, detail)
		if len(line) > 100 {
			line = line[:100]
		}
		fmt.Fprintf(p.w, "\r%-100s", line)
		p.drawn = true
		return
	}
	if pct/10 == p.step && phase == p.phase && pct < 100 {
		return
	}
	p.step, p.phase = pct/10, phase
	fmt.Fprintf(p.w, "%s %3d %%  %s\n", p.what, pct, detail)
}

// done ends the bar's line (a terminal), so that what follows starts on a
// fresh line.
func (p *progress) done() {
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
