//go:build !race

package realtime_test

// raceEnabled reports whether the race detector is on: it makes memory
// figures meaningless.
const raceEnabled = false
