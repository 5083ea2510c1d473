package store

// ClassAccuracy is a trained version's validation accuracy per label (nil
// when it has no validation report): what the daemon publishes in the
// MQTT training result and as alphad_model_accuracy{class=…}.
func (v Version) ClassAccuracy() map[string]float64 {
	if v.Report == nil || v.Report.On != "validation" || len(v.Report.Final.PerClass) != len(v.Labels) {
		return nil
	}
	out := make(map[string]float64, len(v.Labels))
	for c, s := range v.Report.Final.PerClass {
		out[v.Labels[c]] = s.Accuracy
	}
	return out
}
