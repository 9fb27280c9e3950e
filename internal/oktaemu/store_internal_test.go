package oktaemu

import (
	"strconv"
	"testing"
	"time"
)

func TestExpiringMap(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	clock := func() time.Time { return now }
	m := newExpiringMap[int](clock, 3)
	for i := range 3 {
		m.put(strconv.Itoa(i), i, now.Add(time.Duration(10-i)*time.Second))
	}
	// Full: the entry expiring soonest ("2", at +8 s) makes room.
	m.put("3", 3, now.Add(time.Minute))
	if _, ok := m.get("2"); ok {
		t.Error("the entry expiring soonest was kept over the cap")
	}
	for _, k := range []string{"0", "1", "3"} {
		if _, ok := m.get(k); !ok {
			t.Errorf("entry %s was dropped", k)
		}
	}
	// Single use.
	if v, ok := m.take("3"); !ok || v != 3 {
		t.Errorf("take = %d, %v", v, ok)
	}
	if _, ok := m.take("3"); ok {
		t.Error("taken twice")
	}
	// Expiry: expired entries are gone, and are evicted first.
	now = now.Add(9 * time.Second) // "1" expires at +9 s, "0" at +10 s
	if _, ok := m.get("1"); ok {
		t.Error("an expired entry was returned")
	}
	if _, ok := m.take("0"); !ok {
		t.Error("a live entry was not returned")
	}
	m.put("a", 1, now.Add(time.Second))
	m.put("b", 1, now.Add(time.Second))
	m.put("c", 1, now.Add(time.Second))
	m.put("d", 1, now.Add(time.Second))
	if n := len(m.entries); n > 3 {
		t.Errorf("%d entries, cap 3", n)
	}
}
