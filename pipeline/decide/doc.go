// Package decide is the decide stage of the frame pipeline: it smooths
// per-frame class scores into stable decisions (moving average or
// majority vote, confidence threshold, hysteresis, minimum dwell) and says
// once whether the decided label changed — for a classified frame and for
// a camera outage alike, so that every output (MQTT events, hooks, the web
// app) sees the same changes.
package decide
