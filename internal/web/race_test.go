//go:build race

package web_test

// slow scales waits: the race detector makes training several times slower.
const slow = 5
