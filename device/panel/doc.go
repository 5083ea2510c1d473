// Package panel is alphad's physical user interface: push buttons that teach
// the classifier and a status LED, on GPIO lines through periph
// (gpio.PinIn / gpio.PinOut).
//
// The daemon (cmd/alphad) calls host.Init, resolves the configured pin names
// with Resolve(cfg, gpioreg.ByName, gpioreg.All), builds a Panel with New,
// runs it with Run(ctx) and reads gesture Events; it shows its state on the
// LED with Show. Nothing here reads the environment or initialises the host.
//
// # Buttons and debounce
//
// A button is a GPIO input configured with a pull (up by default) and both
// edges; a press is the active level (Low by default: the button connects
// the line to ground). The panel waits for edges (WaitForEdge), it does not
// poll levels. Debounce is by settling: every edge restarts a Debounce timer
// (30 ms by default) and only when it expires is the line read; if the level
// differs from the debounced state, the button went down or up at that
// moment. So any bounce train whose edges are less than Debounce apart is one
// transition, a glitch shorter than Debounce is nothing, and both press and
// release are recognised Debounce after their last edge: durations are from
// the last edge of the press to the last edge of the release. A button
// already pressed when the panel starts is ignored until it is released.
//
// # Gestures
//
// Each press ends in exactly one of Press, DoublePress (which covers two
// presses) or HoldStart…HoldEnd; LongPress is an extra event after HoldEnd.
// "Held" is the time between the debounced press and release.
//
//   - HoldStart fires once the button has been down continuously for
//     HoldAfter (500 ms), while it is still down: recording starts without
//     waiting for the release.
//   - Release after a HoldStart gives HoldEnd. If the hold lasted LongPress
//     (2 s) or more, LongPress follows HoldEnd at the same moment. Long
//     press is decided on release, so there is no separate long-press
//     timer; a long press is always also a hold.
//   - Release before HoldAfter is a short press. On a button without
//     DoublePress it gives Press at once.
//   - On a button with DoublePress, a short press opens a window of
//     DoubleWindow (300 ms) from its release. A second press that starts
//     inside the window (strictly less than DoubleWindow later) and is
//     released before HoldAfter gives one DoublePress. If the window ends
//     first, the short press gives Press then, DoubleWindow late: only
//     buttons configured for double press pay this delay. If the second
//     press is held to HoldAfter, the first gives Press and the second
//     becomes a hold.
//
// Thresholds are inclusive: held for exactly HoldAfter is a hold, exactly
// LongPress is a long press, a second press exactly DoubleWindow after the
// release is a new press.
//
// # Default mapping
//
// Event.Intent applies the default mapping the daemon uses: a class button
// ("class:<label>") records one sample on Press and records continuously
// from HoldStart to HoldEnd; the train button ("train") trains on Press and
// undoes the last recording burst on LongPress. Other events (double
// presses, the train button's HoldStart/HoldEnd) have no intent. Default
// wiring: class1 on GPIO17, class2 on GPIO22, train on GPIO23, the LED on
// GPIO27 (see firmware-config/README.md).
//
// # LED
//
// The LED shows a Pattern: Off, Idle (heartbeat, or off with idle: off),
// Recording (slow blink), Training (fast blink), and the one-shots Success
// (one long pulse) and Error (three short blinks), which play once and return
// to the steady pattern; a steady pattern set meanwhile waits for the
// one-shot to end. Halt and Close leave the LED off.
//
// # Goroutines and time
//
// Run starts one goroutine per button, blocked in WaitForEdge with a short
// timeout (Options.Wake) so cancellation is noticed; timers (debounce,
// gestures, LED) are Clock.AfterFunc callbacks. When Run returns, or Close
// returns, no goroutine of the panel is left. Tests inject a fake Clock
// (paneltest.Clock) and drive edges with paneltest.Pin.
package panel
