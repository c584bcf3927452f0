//go:build unix

package commit

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used. The benchmarks report
// it per operation next to ns/op because the project's benchmark machine is
// shared: wall-clock time there includes time spent waiting for a core.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
