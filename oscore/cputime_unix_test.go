//go:build unix

package oscore

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time. On a shared machine the
// wall-clock ns/op counts time spent descheduled; cpu-ns/op does not (it
// does count GC work on other threads, which belongs to the cost).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
