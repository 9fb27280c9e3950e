package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// How progress shows. Variables, not constants, so that the command tests
// can show progress from the first batch (export_test.go).
var (
	// progressDelay is how long a command runs before progress shows:
	// quicker ones print nothing.
	progressDelay = 500 * time.Millisecond
	// progressEvery is the least time between two plain lines of a phase,
	// which must also be a tenth of its total apart.
	progressEvery = time.Second
)

const (
	progressRedraw   = 100 * time.Millisecond // least time between two redraws on a terminal
	progressBarWidth = 20
	progressLabel    = "%-9s" // "importing" and shorter labels line up
)

// progress shows how far a long command has got, phase by phase, on
// standard error. On a terminal each phase is one line redrawn in place
// (\r), with a bar when its total is known, and ends with a newline;
// anywhere else (a pipe, a CI log) it writes plain lines, few enough to
// read: one when the phase shows first, then at most one per progressEvery
// and per tenth of the total, and the final one. Nothing shows until
// progressDelay after newProgress, so a quick command stays silent, its
// final lines included.
//
// It shows counts and times only, never data. A nil *progress shows
// nothing. phase, set, tick and done are safe for concurrent use; animate
// and close belong to the goroutine that made the progress.
type progress struct {
	w          io.Writer
	tty        bool
	now        func() time.Time
	one, many  string // the unit, as in "1 user", "2 users"
	start      time.Time
	delay      time.Duration
	every      time.Duration
	tickerDone chan struct{} // closed to stop animate's goroutine
	tickerWait sync.WaitGroup

	mu     sync.Mutex
	shown  bool // delay passed: progress is showing
	active bool // a phase has begun and not ended
	label  string
	total  int // 0: not known
	n      int
	began  time.Time // of the phase
	// On a terminal: whether the phase's line is on screen, and when it
	// was last drawn. (A redraw needs no blanking: the text never gets
	// shorter, its numbers have fixed widths and the time only grows.)
	drawn   bool
	drawnAt time.Time
	// Plain: whether the phase has a line yet, and the last one's time
	// and count.
	lined bool
	lineT time.Time
	lineN int
}

// newProgress returns a progress writing to w, as on a terminal if tty;
// now is its clock. one and many name the unit counted.
func newProgress(w io.Writer, tty bool, now func() time.Time, one, many string) *progress {
	return &progress{w: w, tty: tty, now: now, one: one, many: many,
		start: now(), delay: progressDelay, every: progressEvery}
}

// isTerminal reports whether v, a reader or writer, is a terminal: an
// *os.File on a character device. (So is /dev/null, where a redrawn line
// does no harm.)
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// animate redraws p every interval, so that a phase shows, and its time
// runs, while no count comes in; close stops it.
func (p *progress) animate(interval time.Duration) {
	if p == nil {
		return
	}
	p.tickerDone = make(chan struct{})
	p.tickerWait.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-p.tickerDone:
				return
			case <-t.C:
				p.tick()
			}
		}
	})
}

// close stops animate and ends a line left open by a phase that did not
// finish, so that an error prints on a line of its own.
func (p *progress) close() {
	if p == nil {
		return
	}
	if p.tickerDone != nil {
		close(p.tickerDone)
		p.tickerWait.Wait()
		p.tickerDone = nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active && p.drawn {
		io.WriteString(p.w, "\n")
	}
	p.active = false
}

// phase begins a phase named label (a verb: "reading") of total units,
// 0 if not known.
func (p *progress) phase(label string, total int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.active, p.label, p.total, p.n, p.began = true, label, total, 0, now
	p.drawn = false
	p.lined, p.lineT, p.lineN = false, now, 0
	p.update(now)
}

// set reports that n units of the phase are done. It fits
// [user.ImportOptions.Progress].
func (p *progress) set(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n = n
	p.update(p.now())
}

// tick redraws the phase, for its running time.
func (p *progress) tick() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.update(p.now())
}

// done ends the phase with n units done, with its final line if progress
// is showing.
func (p *progress) done(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.active {
		return
	}
	now := p.now()
	p.n, p.active = n, false
	if !p.visible(now) {
		return
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\n", p.text(now, true))
		p.drawn = false
		return
	}
	fmt.Fprintln(p.w, p.text(now, true))
}

// visible reports whether progress shows at now, and from then on.
func (p *progress) visible(now time.Time) bool {
	if !p.shown && now.Sub(p.start) >= p.delay {
		p.shown = true
	}
	return p.shown
}

// update shows the running phase as of now, if it is time to.
func (p *progress) update(now time.Time) {
	if !p.active || !p.visible(now) {
		return
	}
	if p.tty {
		if p.drawn && now.Sub(p.drawnAt) < progressRedraw {
			return
		}
		fmt.Fprintf(p.w, "\r%s", p.text(now, false))
		p.drawn, p.drawnAt = true, now
		return
	}
	// The last count comes just before done, which prints it.
	due := !p.lined || p.total > 0 && p.n < p.total &&
		now.Sub(p.lineT) >= p.every && (p.n-p.lineN)*10 >= p.total
	if !due {
		return
	}
	fmt.Fprintln(p.w, p.text(now, false))
	p.lined, p.lineT, p.lineN = true, now, p.n
}

// text is the line for the phase as of now: while it runs, or once it is
// done (final).
func (p *progress) text(now time.Time, final bool) string {
	elapsed := formatElapsed(now.Sub(p.began))
	label := fmt.Sprintf(progressLabel, p.label)
	if p.total <= 0 {
		if !final {
			return fmt.Sprintf("%s  %s", label, elapsed)
		}
		unit := p.many
		if p.n == 1 {
			unit = p.one
		}
		return fmt.Sprintf("%s  %d %s  %s", label, p.n, unit, elapsed)
	}
	n := min(max(p.n, 0), p.total)
	count := fmt.Sprintf("%*d/%d  %3d%%", len(fmt.Sprint(p.total)), n, p.total, n*100/p.total)
	if !p.tty {
		return fmt.Sprintf("%s  %s  %s", label, count, elapsed)
	}
	return fmt.Sprintf("%s  [%s]  %s  %s", label, bar(n, p.total, progressBarWidth), count, elapsed)
}

// bar draws n of total as width characters: "=====>    ".
func bar(n, total, width int) string {
	full := n * width / total
	if full >= width {
		return strings.Repeat("=", width)
	}
	return strings.Repeat("=", full) + ">" + strings.Repeat(" ", width-full-1)
}

// formatElapsed formats d as "3.2s", or "2m05s" from a minute on.
func formatElapsed(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}
