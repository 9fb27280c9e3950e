package cli

import "testing"

// ShowProgressAtOnce makes commands show progress from their start, and
// plain lines at every tenth of the total however quick, until the test
// ends, so that tests of progress do not depend on the machine's speed.
// Tests that call it must not run in parallel.
func ShowProgressAtOnce(t testing.TB) {
	delay, every := progressDelay, progressEvery
	progressDelay, progressEvery = 0, 0
	t.Cleanup(func() { progressDelay, progressEvery = delay, every })
}
