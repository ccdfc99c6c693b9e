//go:build race

package circle

// raceEnabled is whether the tests run with the race detector, which makes
// sync.Pool drop some of what it is given.
const raceEnabled = true
