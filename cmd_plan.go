package main

import (
	"github.com/nnsweep/nnsweep/pipeline"
	"github.com/spf13/cobra"
)

func newPlanCommand() *cobra.Command {
	var opts pipeline.PlanOptions
	var points []string
	cmd := &cobra.Command{
		Use:   "plan FILE --shards N",
		Short: "Print how `nnsweep run --shard I/N` splits the sweep's points among N shards, with estimated costs",
		Long: `plan prints which points each of N shards trains, as ` + "`nnsweep run FILE --shard I/N`" + ` (or a Kubernetes
Indexed Job, or a Slurm job array) splits them: longest first, each to the shard with the least
estimated cost so far, where a point costs its multiply-adds per example times the examples it
trains and evaluates. Give it the same --only, --points, --epochs and --limit-train as the run.`,
		Example: `  nnsweep plan examples/mnist-cnn2.yaml --shards 3
  nnsweep plan examples/mnist-compare.yaml --shards 8 --format json`,
		Args:              exactArgs(1),
		ValidArgsFunction: yamlFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("shards") {
				return &pipeline.UsageError{Msg: "plan needs the number of shards: add --shards N, e.g. --shards 4"}
			}
			if err := atLeastOne(cmd, "epochs", "limit-train"); err != nil {
				return err
			}
			var err error
			if opts.Points, err = pipeline.ParsePoints(points); err != nil {
				return err
			}
			return pipeline.Plan(args[0], opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Shards, "shards", 0, "number of shards (required)")
	f.StringVar(&opts.Format, "format", "table", "output format: table, markdown or json")
	f.StringSliceVar(&opts.Only, "only", nil, "plan only these models (comma-separated names), as run --only")
	f.StringArrayVar(&points, "points", nil, "plan only these points, e.g. n=2,4, as run --points")
	f.IntVar(&opts.Epochs, "epochs", 0, "plan this many epochs instead of the spec's, as run --epochs")
	f.IntVar(&opts.LimitTrain, "limit-train", 0, "plan training on the first N examples only, as run --limit-train")
	cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(pipeline.PlanFormats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
