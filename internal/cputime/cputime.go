// Package cputime measures the CPU time this process has used. Benchmarks
// and `alphad bench` report it per inference beside wall time because CPU
// time does not count the time the scheduler gave to other processes, so
// a busy machine does not inflate it.
package cputime
