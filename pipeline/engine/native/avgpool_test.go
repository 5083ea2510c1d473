package native

import (
	"testing"

	"github.com/alphad/alphad/pipeline/tflite"
)

func TestAveragePool2D(t *testing.T) { testPool2D(t, tflite.OpAveragePool2D) }
