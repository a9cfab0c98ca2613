//go:build race

package web

// raceDetector: heap and frame-time figures measured under the race
// detector are not the product's; the tests that assert them skip.
const raceDetector = true
