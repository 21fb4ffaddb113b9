package runtime

// UseWazeroWASI makes the wazero engines bind wazero's own WASI (under the
// runtime's former closed configuration) instead of the runtime's, for
// models loaded until restore is called.
func UseWazeroWASI() (restore func()) {
	old := wazeroBuiltinWASI
	wazeroBuiltinWASI = true
	return func() { wazeroBuiltinWASI = old }
}
