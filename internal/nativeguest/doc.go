// Package nativeguest runs a guest-sdk model as native Go code against the
// very same host functions the WebAssembly sandbox exposes: each call goes
// through the hostfuncs import table with a native buffer standing in for
// guest memory. Tokens, digests and work units therefore match the sandboxed
// run exactly, and the difference in time is the cost of the sandbox. It
// exists for that comparison and for debugging models; nodes never use it.
package nativeguest
