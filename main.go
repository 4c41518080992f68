// Command nnsweep sweeps the width of neural network architectures, trains every size, and
// reports the smallest model that reaches an accuracy target. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/nnsweep/nnsweep/pipeline"
	"github.com/spf13/cobra"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go handleSignals(sigs, cancel, os.Exit, os.Stderr)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	signal.Stop(sigs)
	os.Exit(exitCode(err, os.Stderr))
}

// stopsGracefully is set by commands that stop on their own once their context is cancelled
// (run, which finishes the current batch and stores what it finished).
var stopsGracefully atomic.Bool

// handleSignals acts on SIGINT and SIGTERM: in a command that stops gracefully, the first signal
// cancels the context (the command stops after the current batch) and the second exits at once;
// any other command exits at the first. Either way the status is 130.
func handleSignals(sigs <-chan os.Signal, cancel func(), exit func(int), stderr io.Writer) {
	<-sigs
	if stopsGracefully.Load() {
		fmt.Fprintln(stderr, "\nstopping after the current batch (press Ctrl-C again to quit at once)")
		cancel()
		<-sigs
		fmt.Fprintln(stderr, "interrupted again: quitting at once; the points stored so far are kept")
	}
	exit(pipeline.ExitInterrupted)
}

// exitCode is the one place that maps errors to exit codes; it prints the error first.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return pipeline.ExitOK
	}
	code := pipeline.ExitCode(err)
	var usage *usageError
	if errors.As(err, &usage) {
		code = pipeline.ExitUsage
	}
	fmt.Fprintln(stderr, err)
	if code == pipeline.ExitInterrupted {
		fmt.Fprintln(stderr, "interrupted: every finished point is saved; run the same command again to resume")
	}
	return code
}

// usageError marks errors from cobra's argument and flag parsing; cmd is the command whose help
// the message points to, e.g. "nnsweep run".
type usageError struct {
	err error
	cmd string
}

func (e *usageError) Error() string { return e.err.Error() + " (see " + e.cmd + " --help)" }
func (e *usageError) Unwrap() error { return e.err }

// run executes the command line args, writing to stdout and stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err, c.CommandPath()} })
	_, err := root.ExecuteContextC(ctx)
	return err
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "nnsweep",
		Short: "Find how small a neural network can get before accuracy drops below a target",
		Long: `nnsweep reads a YAML spec of one or more architectures with symbolic widths (n, 2n, 4n),
counts their parameters in closed form, trains every point of the sweep and reports the
turning point: the smallest model at or above the accuracy target.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.Name())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf("; did you mean %q?", s[0])
			}
			return &usageError{errors.New(msg), cmd.CommandPath()}
		},
		RunE:    func(cmd *cobra.Command, args []string) error { return cmd.Help() },
		Version: pipeline.Version,
	}
	root.SetVersionTemplate("nnsweep {{.Version}}\n")
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(newValidateCommand(), newParamsCommand(), newRunCommand(), newPlanCommand(), newReportCommand(), newExportCommand(), newSchemaCommand(),
		newCompletionCommand())
	return root
}

// completionShells are the shells `nnsweep completion` writes a script for.
var completionShells = []string{"bash", "zsh", "fish", "powershell"}

// newCompletionCommand replaces cobra's, which prints its help and exits 0 for a shell it lacks.
func newCompletionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script, e.g. source <(nnsweep completion bash)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || !slices.Contains(completionShells, args[0]) {
				return &usageError{fmt.Errorf("completion takes one shell of %s", strings.Join(completionShells, ", ")), cmd.CommandPath()}
			}
			return nil
		},
		ValidArgs: completionShells,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			}
			return root.GenPowerShellCompletionWithDesc(out)
		},
	}
}

// leftOut says, for each integer flag whose 0 is "not given", what leaving the flag out does.
var leftOut = map[string]string{
	"epochs":      "to train the epochs the spec asks for",
	"limit-train": "to train on every training example",
	"jobs":        "to let nnsweep choose (the seeds of a point, and the models of a spec, train at once, one training per core)",
}

// atLeastOne refuses the integer flags among names that were given a value below 1: their 0
// means "not given", which a user writing 0 does not mean.
func atLeastOne(cmd *cobra.Command, names ...string) error {
	for _, name := range names {
		f := cmd.Flags().Lookup(name)
		if f == nil || !f.Changed {
			continue
		}
		if v, err := strconv.Atoi(f.Value.String()); err == nil && v < 1 {
			return &pipeline.UsageError{Msg: fmt.Sprintf("--%s %d: give at least 1, or leave --%s out %s", name, v, name, leftOut[name])}
		}
	}
	return nil
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return &usageError{err, cmd.CommandPath()}
		}
		return nil
	}
}

func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.MinimumNArgs(n)(cmd, args); err != nil {
			return &usageError{err, cmd.CommandPath()}
		}
		return nil
	}
}

func yamlFiles(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
}

func newValidateCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "validate FILE...",
		Short:             "Check specs and print every error as file:line:col: path: problem; fix",
		Args:              minArgs(1),
		ValidArgsFunction: yamlFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			return pipeline.Validate(args, cmd.OutOrStdout())
		},
	}
}

func newParamsCommand() *cobra.Command {
	var at, format string
	cmd := &cobra.Command{
		Use:   "params FILE",
		Short: "Print exact parameter polynomials and counts of every sweep point, without training",
		Example: `  nnsweep params examples/mnist-cnn2.yaml
  nnsweep params examples/mnist-cnn2.yaml --at n=2
  nnsweep params examples/mnist-compare.yaml --format json`,
		Args:              exactArgs(1),
		ValidArgsFunction: yamlFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := pipeline.ParamsOptions{Format: format}
			if at != "" {
				var err error
				if opts.At, err = pipeline.ParseAt(at); err != nil {
					return err
				}
			}
			return pipeline.Params(args[0], opts, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "evaluate at one point, e.g. n=2, and show every layer")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, markdown or json")
	cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(pipeline.ParamsFormats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func newRunCommand() *cobra.Command {
	var opts pipeline.RunOptions
	var points []string
	var shard, cpuprofile string
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Train every point of the sweep, store each result at once and write the report",
		Long: `run trains the points of a spec in order on its dataset. Every finished point is stored at once
in DIR/results.jsonl and the report DIR/report.md is refreshed; running the same spec again skips
the stored points (their key covers the model, the training settings, the data and the seed), so an
interrupted sweep resumes where it stopped. Ctrl-C stops after the current batch; a second Ctrl-C
quits at once.

With --shard I/N (or in a Kubernetes Indexed Job or a Slurm job array, from the environment) run
trains only shard I of N and stores it in its own results file of the shared folder DIR;
` + "`nnsweep plan FILE --shards N`" + ` shows the split and ` + "`nnsweep report DIR`" + ` merges the shards.`,
		Example: `  nnsweep run examples/mnist-cnn2.yaml
  nnsweep run examples/mnist-mlp.yaml --points n=32 --epochs 5
  nnsweep run examples/mnist-compare.yaml --only cnn2 --limit-train 10000
  nnsweep run examples/mnist-cnn2.yaml --shard 0/4 --out /shared/runs/mnist-cnn2`,
		Args:              exactArgs(1),
		ValidArgsFunction: yamlFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := atLeastOne(cmd, "epochs", "limit-train", "jobs"); err != nil {
				return err
			}
			var err error
			if opts.Points, err = pipeline.ParsePoints(points); err != nil {
				return err
			}
			if opts.Shard, err = pipeline.ResolveShard(shard, os.LookupEnv); err != nil {
				return err
			}
			if cmd.Flags().Changed("dump-count") && opts.DumpSteps == "" {
				return &pipeline.UsageError{Msg: "--dump-count needs --dump-steps DIR; see nnsweep run --help"}
			}
			opts.AutoJobs = !cmd.Flags().Changed("jobs")
			stopsGracefully.Store(true)
			if cpuprofile != "" {
				stop, err := startCPUProfile(cpuprofile)
				if err != nil {
					return err
				}
				defer stop()
			}
			return pipeline.Run(cmd.Context(), args[0], opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Out, "out", "", "output folder (default runs/<spec name>)")
	f.StringSliceVar(&opts.Only, "only", nil, "train only these models (comma-separated names)")
	f.StringArrayVar(&points, "points", nil, "train only these points, e.g. n=2,4 (repeat for more variables)")
	f.IntVar(&opts.Epochs, "epochs", 0, "train this many epochs instead of the spec's (default: the spec's)")
	f.IntVar(&opts.LimitTrain, "limit-train", 0, "train on the first N training examples only (default: all)")
	f.BoolVar(&opts.Force, "force", false, "train again points whose results are stored")
	f.StringVar(&opts.Progress, "progress", "auto", "progress display: auto, bar, lines or none")
	f.IntVar(&opts.Jobs, "jobs", 0, "train this many points of a grid, or seeds of a searched point, at once (default: auto, the seeds of a point train at once, one per core, and so do the models of a spec)")
	f.StringVar(&opts.Search, "search", "", "grid or bisect, instead of the spec's search")
	cmd.RegisterFlagCompletionFunc("search", cobra.FixedCompletions([]string{"grid", "bisect"}, cobra.ShellCompDirectiveNoFileComp))
	f.StringVar(&opts.Engine, "engine", "fast", "how layers are built: fast (fused ops on our kernels) or stock (gorgonia's own operations)")
	cmd.RegisterFlagCompletionFunc("engine", cobra.FixedCompletions(pipeline.Engines, cobra.ShellCompDirectiveNoFileComp))
	f.StringVar(&shard, "shard", "", "train only shard I of N, e.g. 0/4 (default: from JOB_COMPLETION_INDEX and NNSWEEP_SHARDS, or SLURM_ARRAY_TASK_*; 0/1: the whole sweep)")
	cmd.RegisterFlagCompletionFunc("progress", cobra.FixedCompletions(pipeline.ProgressModes, cobra.ShellCompDirectiveNoFileComp))
	f.BoolVar(&opts.AllowOtherSpec, "allow-other-spec", false, "store the results in --out even when it holds another spec's results (the folder's report then shows this spec)")
	f.StringVar(&opts.DumpSteps, "dump-steps", "", "write each training's initial weights and first steps (batches, losses, gradients, weights) under this folder, for bench/fidelity")
	f.IntVar(&opts.DumpCount, "dump-count", pipeline.DefaultDumpCount, "how many steps --dump-steps records")
	f.StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run to this file (read it with go tool pprof)")
	return cmd
}

// startCPUProfile writes a CPU profile to path until the returned function is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func newReportCommand() *cobra.Command {
	var opts pipeline.ReportOptions
	cmd := &cobra.Command{
		Use:   "report DIR...",
		Short: "Render the report of stored results; several folders are merged into one comparison",
		Example: `  nnsweep report runs/mnist-cnn2
  nnsweep report runs/mnist-mlp-pool runs/mnist-cnn2 --out compare/report.md
  nnsweep report runs/mnist-cnn2 --format csv > results.csv`,
		Args: minArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return pipeline.Report(args, opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&opts.Out, "out", "", "Markdown file to write (charts go beside it), or the json/csv file; a folder gets report.md (report.json, report.csv)")
	cmd.Flags().StringVar(&opts.Format, "format", "markdown", "markdown, json or csv")
	cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(pipeline.ReportFormats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func newExportCommand() *cobra.Command {
	var opts pipeline.ExportOptions
	var seed int64
	cmd := &cobra.Command{
		Use:   "export DIR",
		Short: "Write a trained model of an output folder as ONNX or as its safetensors weights (default: the turning point)",
		Long: `export writes one training stored in the output folder DIR: the point given with --point (default:
the model's turning point by the spec's rule) and the seed given with --seed (default: that point's
seed of the highest test accuracy). --format onnx writes an ONNX model (opset 13) whose input is a
batch of NCHW float32 images [N, C, H, W], scaled as nnsweep trains on them, and whose output is
the softmax probabilities [N, classes]; --format safetensors writes the stored weights file.`,
		Example: `  nnsweep export runs/mnist-cnn2
  nnsweep export runs/mnist-cnn2 --model mnist-cnn2 --point n=2 --seed 2 --out cnn2-n2.onnx
  nnsweep export runs/mnist-compare --model cnn2 --format safetensors`,
		Args: exactArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("seed") {
				opts.Seed = &seed
			}
			return pipeline.Export(args[0], opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Model, "model", "", "the model to export (default: the folder's only model)")
	f.StringVar(&opts.Point, "point", "", "the point to export, e.g. n=2 (default: the turning point)")
	f.Int64Var(&seed, "seed", 0, "the seed to export (default: the point's seed of the highest test accuracy)")
	f.StringVar(&opts.Format, "format", "onnx", "onnx or safetensors")
	cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(pipeline.ExportFormats, cobra.ShellCompDirectiveNoFileComp))
	f.StringVar(&opts.Out, "out", "", "the file to write (default: MODEL-POINT-seedS.FORMAT in the working folder)")
	return cmd
}

func newSchemaCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the spec (kept in the repository as nnsweep.schema.json)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return pipeline.Schema(cmd.OutOrStdout())
		},
	}
}
