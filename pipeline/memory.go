package pipeline

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/nnsweep/nnsweep/spec"
)

// evalBatch is the batch size of the evaluation graph (runner.Options.EvalBatch's default).
const evalBatch = 256

// trainingBytes estimates, from below, the memory in bytes that training model m at a point of
// pc.Params parameters and pc.Activations output values per example takes: every parameter as a
// weight, its gradient, the optimizer's slots and, with early stopping that restores the best
// epoch, a copy; every layer's output and its gradient for a training batch, and its output for an
// evaluation batch; all as 4-byte floats. The data set and the graphs' own buffers come on top.
func trainingBytes(m *Model, params, activations int64) float64 {
	perParam := 2.0 // weight and gradient
	switch o := m.Train.Optimizer; o.Name {
	case "adam", "adadelta", "adamw":
		perParam += 2
	case "rmsprop":
		perParam++
	case "sgd":
		if o.Momentum > 0 {
			perParam++
		}
	}
	if es := m.Train.EarlyStop; es != nil && es.RestoreBest {
		perParam++
	}
	perExample := 2*float64(m.Train.BatchSize) + evalBatch
	return 4 * (perParam*float64(params) + perExample*float64(activations))
}

// checkMemory refuses, as an error of the spec, every model of e with a point that trainingBytes
// says does not fit in memory bytes (the machine's; see machineMemory), before any weight is
// allocated; what, e.g. "this machine's memory", names memory in the message.
func checkMemory(e *Experiment, memory int64, what string) error {
	var errs spec.ErrorList
	for i := range e.Models {
		m := &e.Models[i]
		var first string
		var need float64
		var params int64
		over := 0
		for _, p := range m.Points {
			pc, err := m.Count.At(p)
			if err != nil {
				return err
			}
			if b := trainingBytes(m, pc.Params, pc.Activations); b > float64(memory) {
				if over == 0 {
					first, need, params = p.String(), b, pc.Params
				}
				over++
			}
		}
		if over == 0 {
			continue
		}
		more := ""
		if over > 1 {
			more = fmt.Sprintf(" (and %d more of its points)", over-1)
		}
		errs = append(errs, &spec.Error{Pos: e.Spec.PosOf(m.Path), Path: m.Path,
			Problem: fmt.Sprintf("%s at %s%s needs at least %s of memory to train (%s parameters, with their gradients and %s's state, and a batch's activations), more than %s, %s",
				m.Name, first, more, byteSize(need), formatInt(params), m.Train.Optimizer.Name, what, byteSize(float64(memory))),
			Fix: "sweep smaller widths or a smaller batch_size, leave the point out with --points, or train on a machine with more memory"})
	}
	if len(errs) > 0 {
		return &InvalidError{errs}
	}
	return nil
}

// byteSize writes a number of bytes in binary units: 512 B, 3.2 GiB, 14.6 TiB.
func byteSize(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", b)
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}

// machineMemory returns the memory this process may use, in bytes, and what it is: the physical
// memory (MemTotal of /proc/meminfo) or, when lower, the limit of its cgroup (a container's
// memory limit). It returns 0 where neither can be read.
func machineMemory() (int64, string) {
	total, what := int64(0), ""
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				if kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64); err == nil {
					total, what = kb*1024, "this machine's memory"
				}
			}
		}
		f.Close()
	}
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if limit, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && limit > 0 && (total == 0 || limit < total) {
			total, what = limit, "the memory limit of this container ("+path+")"
		}
	}
	return total, what
}
