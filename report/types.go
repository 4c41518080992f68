package report

import (
	"math"
	"time"
)

// Experiment is everything a report shows about one sweep.
type Experiment struct {
	// Title is the report's heading; when empty, "nnsweep report" is used.
	Title string
	// Description is free text printed under the title (Markdown allowed;
	// HTML and control characters are not: see markdownSafe).
	Description string
	// Target is the minimum test accuracy the turning point must reach, as a
	// fraction in (0,1], e.g. 0.97 for 97%.
	Target float64
	// Env records where and with what the experiment ran.
	Env Environment
	// Models are the swept architectures, in the spec's order.
	Models []Model
	// Note is free text shown prominently near the top, e.g. "trained with
	// --epochs 2 (spec says 12)". Empty means no note.
	Note string
	// Rule says which figure of a point trained with several seeds (a
	// point with Runs) must reach Target: RuleMean, RuleMin or RuleMeanSD.
	// Empty means RuleMean. Points without Runs are judged on Accuracy
	// whatever the rule.
	Rule string
	// Predict adds, for each model, a power-law fit of accuracy against
	// parameters (see FitPowerLaw) and the parameter count it predicts for
	// the target, to the Markdown report and the chart.
	Predict bool
}

// Environment records where and with what an experiment ran.
type Environment struct {
	// Version is the nnsweep version, e.g. "v0.3.1".
	Version string
	// GoVersion is the Go toolchain version, e.g. "go1.26.8".
	GoVersion string
	// CPU is the processor's model name.
	CPU string
	// Cores is the number of CPU cores used; 0 means unknown.
	Cores int
	// OS is the operating system and architecture, e.g. "linux/amd64";
	// empty means unknown.
	OS string
	// Machines lists, when the points were trained by more than one build
	// or machine, each of them with its number of trainings; Version,
	// GoVersion, CPU, Cores and OS are then not shown.
	Machines []Machine
	// Date is when the report was made. It is printed in UTC and, with
	// TrainedFirst and TrainedLast, is the only part of the Markdown report
	// that may differ between two runs.
	Date time.Time
	// TrainedFirst and TrainedLast are when the first and the last of the
	// points finished training; zero when no point has.
	TrainedFirst, TrainedLast time.Time
	// SpecFile is the spec's file name as the user gave it.
	SpecFile string
	// SpecHash is the hex-encoded SHA-256 of the spec file's bytes.
	SpecHash string
	// SpecText is the spec file's content (YAML), shown collapsed in the report.
	SpecText string
	// Data describes the data set trained and tested on; nil says nothing about it.
	Data *Data
}

// Data describes the data set of an experiment.
type Data struct {
	// Name identifies the data set: "mnist", "fashion-mnist", "cifar10:PATH", "idx:PATH".
	Name string
	// Train and Test are the numbers of training and test examples.
	Train, Test int
	// H, W and C are the images' height and width in pixels and their number of channels.
	H, W, C int
	// Classes is the number of classes, and ClassNames their names in label order (nil when the
	// data names none).
	Classes    int
	ClassNames []string
	// Normalize is the normalisation in the spec's words ("per-channel"); empty for byte / 255.
	Normalize string
}

// Machine is one build and machine that trained points of the report.
type Machine struct {
	// Version is the nnsweep version; GoVersion the Go toolchain it was
	// built with; CPU the processor's model name; Cores the cores it could
	// use; OS the operating system and architecture. Empty or 0: unknown.
	Version, GoVersion, CPU, OS string
	Cores                       int
	// Trainings is the number of trainings it made.
	Trainings int
}

// Model is one architecture of the sweep and the points trained for it.
type Model struct {
	// Name is the model's name as written in the spec, e.g. "cnn2".
	Name string
	// Polynomial is the parameter count as a polynomial of the sweep
	// variables, in the user's notation, e.g. "63n² + 335n + 10".
	Polynomial string
	// Points are the sweep's points in the spec's order (any order is
	// accepted; the analyses and the chart sort by Params where needed).
	Points []Point
	// Search says how the points to train were chosen (grid or bisection)
	// and what that saved; nil means nothing is said about it.
	Search *SearchInfo
	// Recipe describes the training recipe beyond the optimizer's update
	// (weight decay, schedule, label smoothing, augmentation); "" says
	// nothing.
	Recipe string
}

// SearchInfo says how the points of a model were chosen for training.
type SearchInfo struct {
	// Method is "grid" (every point is trained) or "bisect" (the points
	// needed to bracket the target are trained; the others are skipped).
	Method string
	// Trained is the number of points trained, each counted once however
	// many seeds it was trained with.
	Trained int
	// GridPoints is the number of points of the full grid.
	GridPoints int
	// TrainSeconds is the wall-clock training time of the trained points,
	// in seconds, all seeds together.
	TrainSeconds float64
	// GridSecondsEstimate is an estimate of the training time of the full
	// grid, in seconds; 0 means no estimate.
	GridSecondsEstimate float64
	// Notes are sentences about the search, listed in the report as
	// written, e.g. "accuracy fell from n=12 (97.3%) to n=13 (96.9%):
	// trained n=11 and n=14 to confirm the bracket".
	Notes []string
	// Trainings and GridTrainings count the trainings of the search and of
	// the full grid, each seed of a point counting once; they are shown
	// when GridTrainings exceeds GridPoints (points repeated with several
	// seeds). 0 means not known.
	Trainings, GridTrainings int
	// Guided is how many of the trained points a power-law fit of the
	// points before them proposed (the others were plain gallop or
	// bisection steps).
	Guided int
	// GridSeconds is the measured training time of the full grid, in
	// seconds, all seeds together: set when every point of the grid has
	// a result in the same folder. It is shown instead of
	// GridSecondsEstimate; 0 means not measured.
	GridSeconds float64
}

// Status says whether a point has a meaningful test result.
type Status string

// The statuses of a point. Any other value is shown as written and treated
// like StatusPending: the point has no result.
const (
	// StatusOK marks a trained point whose Accuracy and Loss are meaningful.
	StatusOK Status = "ok"
	// StatusDiverged marks a point whose training diverged (e.g. NaN loss).
	StatusDiverged Status = "diverged"
	// StatusPending marks a point not trained yet, or whose training did not finish.
	StatusPending Status = "pending"
	// StatusSkipped marks a point a search (bisection) chose not to train:
	// it has no result, and it is not a failure.
	StatusSkipped Status = "skipped"
)

// Point is one trained (or not yet trained) size of a model.
type Point struct {
	// Label names the point by its sweep variables, e.g. "n=2", or
	// "n=2, m=4" for several variables.
	Label string
	// Params is the number of parameters (scalars, not bytes): every one, trainable or not, as
	// Keras's "Total params"; the turning point is judged on it.
	Params int64
	// NonTrainable is the part of Params no optimizer trains (batch norm's moving mean and
	// variance), and Folded the parameters once batch norm is folded into the layer before it
	// (what a deployed model carries). Both are zero for a model without batch norm, whose
	// report shows neither.
	NonTrainable, Folded int64
	// Accuracy is the test accuracy as a fraction in [0,1]. It is
	// meaningful only when Status is StatusOK.
	Accuracy float64
	// Loss is the mean test loss per example. It is meaningful only when
	// Status is StatusOK.
	Loss float64
	// Epochs is the number of epochs actually trained.
	Epochs int
	// MaxEpochs is the number of epochs the spec asks for; 0 means unknown.
	// Epochs below MaxEpochs on an ok point are shown as an early stop.
	MaxEpochs int
	// TrainSeconds is the wall-clock training time in seconds.
	TrainSeconds float64
	// Status says whether Accuracy and Loss are meaningful.
	Status Status
	// Layers are the per-layer parameter counts of this point, in network
	// order. It may be empty.
	Layers []Layer
	// Export is the command line that exports this point's trained model
	// (e.g. "nnsweep export runs/cnn2 --model cnn2 --point n=4"), shown
	// under the turning point; empty shows none.
	Export string
	// Runs are the trainings of this point with different seeds, one per
	// seed, when the spec asks for repeats. When Runs is not empty, the
	// report ignores Accuracy, Loss, Epochs, TrainSeconds and Status and
	// derives them from Runs with Aggregate and the experiment's rule: the
	// rule's figure, the mean loss, the mean epochs (rounded), the summed
	// time and the Summary's status.
	Runs []Run
}

// Run is one training of a point with one seed.
type Run struct {
	// Seed is the seed the run was trained with.
	Seed int64
	// Accuracy is the test accuracy as a fraction in [0,1]; meaningful only
	// when Status is StatusOK.
	Accuracy float64
	// Loss is the mean test loss per example; meaningful only when Status
	// is StatusOK.
	Loss float64
	// Epochs is the number of epochs actually trained.
	Epochs int
	// TrainSeconds is the wall-clock training time in seconds.
	TrainSeconds float64
	// Status is StatusOK, StatusDiverged, or anything else for a run that
	// has not finished (counted as pending).
	Status Status
}

// Layer is the parameter count of one layer of a point.
type Layer struct {
	// Name is the layer's name, e.g. "dense_1".
	Name string
	// Params is the number of trainable parameters of the layer.
	Params int64
}

// ok reports whether p has a usable test accuracy: its status is StatusOK
// and its accuracy is a number.
func (p Point) ok() bool {
	return p.Status == StatusOK && !math.IsNaN(p.Accuracy)
}
