//go:build !unix

package group

import "time"

func cpuTime() time.Duration { return 0 }
