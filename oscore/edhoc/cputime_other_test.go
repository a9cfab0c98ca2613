//go:build !unix

package edhoc

import "time"

func cpuTime() time.Duration { return 0 }
