//go:build !xnnpack || !cgo

package xnnpack

import (
	"os"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
)

// TestXNNPACKCompiledInCI fails CI runs that require the XNNPACK engine
// (CI=true and ALPHAD_REQUIRE_XNNPACK=1) when this build left it out, so the
// engine's tests cannot be skipped silently; elsewhere it records the skip
// for make test's summary.
func TestXNNPACKCompiledInCI(t *testing.T) {
	if os.Getenv("CI") == "true" && os.Getenv("ALPHAD_REQUIRE_XNNPACK") == "1" {
		t.Fatal("the xnnpack engine is not compiled in: build with -tags xnnpack and CGO_ENABLED=1 (apt install libxnnpack-dev libpthreadpool-dev)")
	}
	testshared.Skip(t, testshared.GroupXNNPACK, "xnnpack engine not compiled in (build tag xnnpack and cgo)")
}
