package native

import (
	"testing"

	"github.com/alphad/alphad/pipeline/tflite"
)

func TestMaxPool2D(t *testing.T) { testPool2D(t, tflite.OpMaxPool2D) }
