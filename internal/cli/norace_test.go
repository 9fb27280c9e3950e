//go:build !race

package cli_test

// raceEnabled reports whether the race detector is on, which makes the large
// imports some ten times slower: their tests use fewer users.
const raceEnabled = false
