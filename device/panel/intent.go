package panel

// Intent is what the daemon does for an event under the default mapping.
type Intent int

// Intents of the default mapping (see the package documentation).
const (
	NoIntent    Intent = iota
	Sample             // class button press: record one sample of Event.Action.Label
	RecordStart        // class button hold-start: record continuously …
	RecordStop         // … until hold-end
	Train              // train button press: train the head on the samples
	Undo               // train button long press: drop the last recording burst
)

func (i Intent) String() string {
	switch i {
	case Sample:
		return "sample"
	case RecordStart:
		return "record-start"
	case RecordStop:
		return "record-stop"
	case Train:
		return "train"
	case Undo:
		return "undo"
	}
	return "none"
}

// Intent maps the event with the default mapping:
//
//	class:<label> button   press → Sample, hold-start → RecordStart, hold-end → RecordStop
//	train button           press → Train, long-press → Undo
//
// Everything else (double presses, a class button's long press, the train
// button's hold-start/hold-end) maps to NoIntent.
func (e Event) Intent() Intent {
	switch e.Action.Kind {
	case ActionClass:
		switch e.Gesture {
		case Press:
			return Sample
		case HoldStart:
			return RecordStart
		case HoldEnd:
			return RecordStop
		}
	case ActionTrain:
		switch e.Gesture {
		case Press:
			return Train
		case LongPress:
			return Undo
		}
	}
	return NoIntent
}
