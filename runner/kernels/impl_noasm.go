//go:build !amd64 || purego

package kernels

// asmImpls is empty: this build has only the pure-Go kernels.
func asmImpls() []*impl { return nil }
