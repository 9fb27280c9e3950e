package oktaemu

import (
	"sync"
	"time"
)

// maxStored caps each store (sessions, codes, refresh tokens, revocations,
// client assertion ids),
// so a flood of sign-ins or token requests cannot exhaust memory.
const maxStored = 10000

// expiringMap is a bounded map whose entries expire. Safe for concurrent
// use. When full, it drops expired entries, then the one expiring soonest.
type expiringMap[V any] struct {
	mu      sync.Mutex
	now     func() time.Time
	max     int
	entries map[string]expiring[V]
}

type expiring[V any] struct {
	value   V
	expires time.Time
}

func newExpiringMap[V any](now func() time.Time, max int) *expiringMap[V] {
	return &expiringMap[V]{now: now, max: max, entries: map[string]expiring[V]{}}
}

func (m *expiringMap[V]) put(key string, v V, expires time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, replacing := m.entries[key]; !replacing && len(m.entries) >= m.max {
		m.evict()
	}
	m.entries[key] = expiring[V]{v, expires}
}

// putNew stores key unless a live entry has it, atomically, and reports
// whether it did: single-use identifiers.
func (m *expiringMap[V]) putNew(key string, v V, expires time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[key]; ok && m.now().Before(e.expires) {
		return false
	} else if !ok && len(m.entries) >= m.max {
		m.evict()
	}
	m.entries[key] = expiring[V]{v, expires}
	return true
}

// evict makes room for one entry. Called with mu held.
func (m *expiringMap[V]) evict() {
	now := m.now()
	var soonest string
	var soonestAt time.Time
	for k, e := range m.entries {
		if !now.Before(e.expires) {
			delete(m.entries, k)
			continue
		}
		if soonest == "" || e.expires.Before(soonestAt) {
			soonest, soonestAt = k, e.expires
		}
	}
	if len(m.entries) >= m.max && soonest != "" {
		delete(m.entries, soonest)
	}
}

// get returns the live entry for key.
func (m *expiringMap[V]) get(key string) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if ok && !m.now().Before(e.expires) {
		delete(m.entries, key)
		ok = false
	}
	if !ok {
		var zero V
		return zero, false
	}
	return e.value, true
}

// take returns the live entry for key and removes it: single use.
func (m *expiringMap[V]) take(key string) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	delete(m.entries, key)
	if !ok || !m.now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.value, true
}

func (m *expiringMap[V]) delete(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, key)
}
