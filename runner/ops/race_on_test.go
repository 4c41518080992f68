//go:build race

package ops

// raceEnabled reports a -race build, in which sync.Pool drops items on purpose (so code that
// reuses pooled buffers, as kernels.SgemmParallel does, allocates now and then).
const raceEnabled = true
