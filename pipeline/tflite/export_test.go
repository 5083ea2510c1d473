package tflite

// InspectNoRecover is Inspect without its recover safety net, so that the
// fuzzer sees panics.
var InspectNoRecover = inspect

// MarshalExternal is Marshal with the constant data after the flatbuffer
// (the offset/size buffer form of models over 2 GB).
func MarshalExternal(m *Model) ([]byte, error) { return marshal(m, true) }
