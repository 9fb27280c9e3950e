package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// at sets the clock to d after its start.
func (c *fakeClock) at(d time.Duration) { c.t = time.Unix(1_700_000_000, 0).Add(d) }

func newFakeProgress(tty bool) (*progress, *fakeClock, *bytes.Buffer) {
	clock := &fakeClock{}
	clock.at(0)
	var buf bytes.Buffer
	return newProgress(&buf, tty, clock.now, "user", "users"), clock, &buf
}

const ms = time.Millisecond

// importSteps drives a progress as `users import` of a million users does,
// through clock times in milliseconds.
func importSteps(p *progress, clock *fakeClock) {
	p.phase("reading", 0)
	for _, t := range []time.Duration{300, 500, 550, 700, 1000} {
		clock.at(t * ms)
		p.tick()
	}
	clock.at(1200 * ms)
	p.done(1_000_000)
	p.phase("importing", 1_000_000)
	for _, s := range []struct {
		t time.Duration
		n int
	}{
		{2000, 0}, // a tick: the store is still checking
		{3000, 50_000},
		{3100, 100_000},
		{3150, 110_000},
		{3500, 300_000},
		{4100, 350_000},
		{4400, 512_000},
		{4450, 600_000},
		{7000, 1_000_000}, // the store's last report, before its commit
	} {
		clock.at(s.t * ms)
		p.set(s.n)
	}
	clock.at(7500 * ms)
	p.done(1_000_000)
	p.close()
}

func TestProgressTerminal(t *testing.T) {
	p, clock, buf := newFakeProgress(true)
	importSteps(p, clock)
	want := "" +
		"\rreading    0.5s" + // nothing before half a second
		"\rreading    0.7s" + // 550 ms: too soon after the last redraw
		"\rreading    1.0s" +
		"\rreading    1000000 users  1.2s\n" +
		"\rimporting  [>                   ]        0/1000000    0%  0.0s" +
		"\rimporting  [>                   ]        0/1000000    0%  0.8s" +
		"\rimporting  [=>                  ]    50000/1000000    5%  1.8s" +
		"\rimporting  [==>                 ]   100000/1000000   10%  1.9s" +
		"\rimporting  [======>             ]   300000/1000000   30%  2.3s" +
		"\rimporting  [=======>            ]   350000/1000000   35%  2.9s" +
		"\rimporting  [==========>         ]   512000/1000000   51%  3.2s" +
		"\rimporting  [====================]  1000000/1000000  100%  5.8s" +
		"\rimporting  [====================]  1000000/1000000  100%  6.3s\n"
	if got := buf.String(); got != want {
		t.Errorf("terminal progress:\n%q\nwant\n%q", got, want)
	}
}

func TestProgressPlain(t *testing.T) {
	p, clock, buf := newFakeProgress(false)
	importSteps(p, clock)
	want := "" +
		"reading    0.5s\n" +
		"reading    1000000 users  1.2s\n" +
		"importing        0/1000000    0%  0.0s\n" +
		// 50 000 at 3 s: not a tenth more. 100 000: both. 300 000 at
		// 3.5 s and 512 000 at 4.4 s: less than a second after the last.
		"importing   100000/1000000   10%  1.9s\n" +
		"importing   350000/1000000   35%  2.9s\n" +
		// 1 000 000 at 7 s is the final count, which done prints.
		"importing  1000000/1000000  100%  6.3s\n"
	if got := buf.String(); got != want {
		t.Errorf("plain progress:\n%s\nwant\n%s", got, want)
	}
}

func TestProgressQuickShowsNothing(t *testing.T) {
	for _, tty := range []bool{true, false} {
		p, clock, buf := newFakeProgress(tty)
		p.phase("reading", 0)
		clock.at(200 * ms)
		p.tick()
		p.done(3)
		p.phase("importing", 3)
		p.set(3)
		clock.at(499 * ms)
		p.done(3)
		p.close()
		if buf.Len() > 0 {
			t.Errorf("tty %v: a quick import showed %q", tty, buf)
		}
	}
}

// TestProgressShowsLateStart pins that a phase that starts before the delay
// shows when it passes, not from the next phase on.
func TestProgressShowsLateStart(t *testing.T) {
	p, clock, buf := newFakeProgress(false)
	p.phase("reading", 0)
	clock.at(100 * ms)
	p.done(1)
	p.phase("importing", 1)
	clock.at(600 * ms)
	p.tick()
	clock.at(900 * ms)
	p.done(1)
	want := "importing  0/1    0%  0.5s\nimporting  1/1  100%  0.8s\n"
	if got := buf.String(); got != want {
		t.Errorf("progress:\n%s\nwant\n%s", got, want)
	}
}

// TestProgressCloseEndsLine pins that a phase cut short by an error leaves
// a terminal at the start of a line, for the error.
func TestProgressCloseEndsLine(t *testing.T) {
	for _, tt := range []struct {
		tty  bool
		want string
	}{
		{true, "\rimporting  [>                   ]    0/500    0%  0.0s" +
			"\rimporting  [====>               ]  100/500   20%  0.3s\n"},
		{false, "importing    0/500    0%  0.0s\n"},
	} {
		p, clock, buf := newFakeProgress(tt.tty)
		p.phase("importing", 500)
		p.close() // nothing shown yet: nothing to end
		if buf.Len() > 0 {
			t.Errorf("tty %v: close wrote %q before anything showed", tt.tty, buf)
		}
		clock.at(time.Second)
		p.phase("importing", 500)
		clock.at(1300 * ms)
		p.set(100)
		p.close()
		p.close()
		if got := buf.String(); got != tt.want {
			t.Errorf("tty %v: %q, want %q", tt.tty, got, tt.want)
		}
	}
}

func TestProgressUnit(t *testing.T) {
	p, clock, buf := newFakeProgress(true)
	p.phase("reading", 0)
	clock.at(61400 * ms)
	p.done(1)
	if got, want := buf.String(), "\rreading    1 user  1m01s\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestProgressNil(t *testing.T) {
	var p *progress
	p.animate(time.Millisecond)
	p.phase("reading", 0)
	p.set(1)
	p.tick()
	p.done(1)
	p.close()
}

// TestProgressAnimate runs the ticker for real: it redraws the running time
// without counts coming in, and close stops it.
func TestProgressAnimate(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, true, time.Now, "user", "users")
	p.delay = 0
	p.animate(time.Millisecond)
	p.phase("reading", 0)
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.mu.Lock()
		draws := strings.Count(buf.String(), "\r")
		p.mu.Unlock()
		if draws >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no redraw from the ticker after 10s: %q", buf.String())
		}
		time.Sleep(progressRedraw)
	}
	p.close()
	out := buf.String()
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("close left the line open: %q", out)
	}
	time.Sleep(5 * ms)
	if buf.String() != out {
		t.Errorf("the ticker drew after close")
	}
}

func TestFormatElapsed(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                      "0.0s",
		49 * ms:                                "0.0s",
		3240 * ms:                              "3.2s",
		59*time.Second + 940*ms:                "59.9s",
		time.Minute:                            "1m00s",
		2*time.Minute + 5*time.Second + 600*ms: "2m06s",
		75 * time.Minute:                       "75m00s",
	} {
		if got := formatElapsed(d); got != want {
			t.Errorf("formatElapsed(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestBar(t *testing.T) {
	for _, tt := range []struct {
		n, total int
		want     string
	}{
		{0, 10, ">         "},
		{1, 10, "=>        "},
		{5, 10, "=====>    "},
		{9, 10, "=========>"},
		{10, 10, "=========="},
		{999, 1000, "=========>"},
	} {
		if got := bar(tt.n, tt.total, 10); got != tt.want {
			t.Errorf("bar(%d, %d) = %q, want %q", tt.n, tt.total, got, tt.want)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(&bytes.Buffer{}) || isTerminal(f) {
		t.Error("a buffer or a regular file taken for a terminal")
	}
	if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		defer null.Close()
		if !isTerminal(null) {
			t.Errorf("%s, a character device, not taken for a terminal", os.DevNull)
		}
	}
}
