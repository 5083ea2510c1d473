package native

import (
	"testing"

	"github.com/alphad/alphad/pipeline/tflite"
)

func TestAdd(t *testing.T) { testBinary(t, tflite.OpAdd) }
