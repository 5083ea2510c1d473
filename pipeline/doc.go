// Package pipeline is the frame → decision flow of the daemon: it smooths
// per-frame class scores into stable decisions (moving average or majority
// vote, confidence threshold, hysteresis and minimum dwell) and reports label
// changes. Sub-packages hold the model format (tflite), the engines
// (engine/...), preprocessing, the trainable head and the sample store.
package pipeline
