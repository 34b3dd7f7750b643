package jsonbench

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time this process has used (every thread, the garbage collector's included). On a machine
// shared with other work, wall-clock ns/op also counts the time the benchmark waited for a core; CPU time does
// not, so the benchmarks report both.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time used since start per op and, when records > 0, per record.
func reportCPU(b *testing.B, start time.Duration, records int) {
	b.Helper()
	used := float64((cpuTime(b) - start).Nanoseconds())
	b.ReportMetric(used/float64(b.N), "cpu-ns/op")
	if records > 0 {
		b.ReportMetric(used/float64(b.N*records), "cpu-ns/record")
	}
}
