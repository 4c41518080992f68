package pipeline

import (
	"strings"
	"testing"
)

// An unsharded run into a folder of a sharded sweep rewrites its manifest without the shards,
// and says so (it used to say nothing).
func TestRunWarnsUnshardedOverShards(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pick := map[string][]int64{"n": {8}}
	runTiny(t, "testdata/tiny-mlp.yaml", dir, RunOptions{Points: pick, Shard: Shard{Index: 0, Count: 2, Source: "--shard"}})
	log := runTiny(t, "testdata/tiny-mlp.yaml", dir, RunOptions{Points: pick})
	if !strings.Contains(log, "was written for a sweep split into 2 shards; this run is not a shard") {
		t.Fatalf("no warning:\n%s", log)
	}
	if log := runTiny(t, "testdata/tiny-mlp.yaml", dir, RunOptions{Points: pick}); strings.Contains(log, "warning") {
		t.Fatalf("a second unsharded run warned again:\n%s", log)
	}
}
