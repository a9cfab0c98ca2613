//go:build unix

package nodes

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user and system) the test process has used:
// every node, link, go-coap and runtime goroutine of the lab included.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
