package tflite

// InspectNoRecover is Inspect without its recover safety net, so that the
// fuzzer sees panics.
var InspectNoRecover = inspect
