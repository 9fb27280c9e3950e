package hookcall

import (
	"encoding/json/v2"
	"io"
	"sync"
)

// DefaultLogCapacity is how many events a [Log] keeps when asked for a
// capacity of zero or less.
const DefaultLogCapacity = 1000

// Log is a System Log for hook calls: it writes each event as one JSON line
// and keeps the most recent ones in memory, for a page or an API to show.
// It is safe for concurrent use; (*Log).Record fits [Caller.Record].
type Log struct {
	mu       sync.Mutex
	w        io.Writer
	ring     []Event // the last len(ring) events; next is the oldest once full
	next     int
	full     bool
	writeErr error
}

// NewLog returns a log that writes JSON lines to w (nil: no writing) and
// keeps the last capacity events (DefaultLogCapacity when capacity ≤ 0).
func NewLog(w io.Writer, capacity int) *Log {
	if capacity <= 0 {
		capacity = DefaultLogCapacity
	}
	return &Log{w: w, ring: make([]Event, capacity)}
}

// Record keeps e and writes it as one line of JSON. Writes are serialized,
// so lines never interleave. A write error is kept (see Err) and does not
// stop the log from keeping events.
func (l *Log) Record(e Event) {
	var line []byte
	if l.w != nil {
		b, err := json.Marshal(e, json.Deterministic(true))
		if err == nil {
			line = append(b, '\n')
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring[l.next] = e
	l.next++
	if l.next == len(l.ring) {
		l.next, l.full = 0, true
	}
	if line != nil && l.writeErr == nil {
		if _, err := l.w.Write(line); err != nil {
			l.writeErr = err
		}
	}
}

// Events returns the kept events, oldest first, newest last. The slice is
// the caller's; the events' debugData maps are shared and must not be
// modified.
func (l *Log) Events() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.full {
		return append([]Event(nil), l.ring[:l.next]...)
	}
	out := make([]Event, 0, len(l.ring))
	out = append(out, l.ring[l.next:]...)
	return append(out, l.ring[:l.next]...)
}

// Err returns the first error writing to the log's writer, if any. After
// it, the log no longer writes, but still keeps events.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writeErr
}
