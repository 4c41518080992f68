// Package runner trains and evaluates one model at one sweep point: it feeds shuffled
// mini-batches from package dataset through the gorgonia graphs of package builder, made with
// the engine (engine.go: ops.Fast or ops.Stock) the run names, steps a Keras-exact optimizer
// (optimizer.go), and measures test accuracy and loss after the last epoch. The training
// recipes act on the way: the learning-rate schedule (schedule.go) sets the optimizer's rate
// before every step, weight decay is part of the optimizer's step, label smoothing shapes the
// targets (fillLabels) and augmentation transforms the training batches (augment.go).
//
// A point trains on a training graph and is evaluated on a second graph bound to the same weight
// tensors, so dropout is active only while training. Everything random (weights, shuffling,
// dropout masks, the validation split) is drawn from the spec's seed: the same spec and seed give
// the same result on the same machine. Evaluate runs stored weights through the same evaluation
// graph, so they give back the test metrics of their training exactly.
package runner
