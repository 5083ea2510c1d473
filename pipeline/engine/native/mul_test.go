package native

import (
	"testing"

	"github.com/alphad/alphad/pipeline/tflite"
)

func TestMul(t *testing.T) { testBinary(t, tflite.OpMul) }
