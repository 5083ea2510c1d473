//go:build race

package daemon

// raceOn: this test binary runs with the race detector (every engine is
// still tested by the plain run of make test).
const raceOn = true
