// Command loopguest is the Go-compiled guest of the meter benchmarks: a
// tight loop and a call-heavy recursion.
package main

//go:wasmexport spin
func spin(n int64) int64 {
	var s int64
	for i := int64(0); i < n; i++ {
		s = s*31 + i
	}
	return s
}

//go:noinline
func fib(n int32) int32 {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

//go:wasmexport fib
func fibExport(n int32) int32 { return fib(n) }

func main() {}
