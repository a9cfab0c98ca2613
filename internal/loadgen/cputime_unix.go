//go:build unix

package loadgen

import (
	"syscall"
	"time"
)

// ProcessCPU is the CPU time (user and system) this process has used:
// with a lab in the same process, the client's and the lab's together.
func ProcessCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
