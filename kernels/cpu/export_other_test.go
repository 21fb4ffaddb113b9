//go:build !amd64 || purego

package cpu

func ForceAVX2() (restore func(), ok bool) { return func() {}, false }
