package report

import (
	"math"
	"testing"

	"github.com/nnsweep/nnsweep/internal/numfmt"
)

func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		got, want string
	}{
		{"groupDigits 0", numfmt.GroupDigits(0), "0"},
		{"groupDigits 932", numfmt.GroupDigits(932), "932"},
		{"groupDigits 75242", numfmt.GroupDigits(75242), "75,242"},
		{"groupDigits 1234567", numfmt.GroupDigits(1234567), "1,234,567"},
		{"groupDigits -1000", numfmt.GroupDigits(-1000), "-1,000"},
		{"percent", percent(0.971), "97.10%"},
		{"targetPercent 0.97", targetPercent(0.97), "97%"},
		{"targetPercent 0.975", targetPercent(0.975), "97.5%"},
		{"targetPercent 1", targetPercent(1), "100%"},
		{"SizeRatio 80.7", numfmt.SizeRatio(75242.0 / 932), "81"},
		{"SizeRatio 3.5", numfmt.SizeRatio(3.5), "3.5"},
		{"SizeRatio 1", numfmt.SizeRatio(1), "1"},
		{"preciseRatio 18.69", preciseRatio(17418.0 / 932), "18.7"},
		{"preciseRatio 2.531", preciseRatio(2.531), "2.53"},
		{"preciseRatio 187.2", preciseRatio(187.2), "187"},
		{"TimesSmaller", numfmt.TimesSmaller(75242, 932), "81×"},
		{"TimesSmaller unknown", numfmt.TimesSmaller(0, 932), "—"},
		{"duration 0", duration(0), "—"},
		{"duration NaN", duration(math.NaN()), "—"},
		{"duration 0.84", duration(0.84), "0.8 s"},
		{"duration 59.9", duration(59.9), "59.9 s"},
		{"duration 59.96", duration(59.96), "1m00s"},
		{"duration 245", duration(245), "4m05s"},
		{"duration 3725", duration(3725), "1h02m"},
		{"loss", loss(0.09412), "0.0941"},
		{"loss NaN", loss(math.NaN()), "—"},
		{"prettyLabel", prettyLabel("n=2"), "n = 2"},
		{"prettyLabel two vars", prettyLabel("n=2,m=4"), "n = 2, m = 4"},
		{"prettyLabel empty", prettyLabel(""), "(unlabelled point)"},
		{"compactCount 10", compactCount(10), "10"},
		{"compactCount 200", compactCount(200), "200"},
		{"compactCount 1000", compactCount(1000), "1k"},
		{"compactCount 2500", compactCount(2500), "2.5k"},
		{"compactCount 1e6", compactCount(1e6), "1M"},
		{"compactCount 5e9", compactCount(5e9), "5B"},
		{"cell", cell("a|b\nc"), `a\|b c`},
		{"code", code("a`b"), "``a`b``"},
		{"code edge backtick", code("`x"), "`` `x ``"},
		{"share", share(646, 932, 0), "69%"},
		{"share tiny", share(1, 100000, 1), "<0.1%"},
		{"summarizeStatuses", summarizeStatuses([]Point{{Status: StatusPending}, {}, {Status: StatusDiverged}, {Status: "killed"}}), "1 diverged, 2 pending, 1 killed"},
		{"statusText diverged", statusText(Point{Status: StatusDiverged}), "diverged"},
		{"statusText empty", statusText(Point{}), "pending"},
		{"statusText ok NaN", statusText(Point{Status: StatusOK, Accuracy: math.NaN()}), "—"},
		{"statusText skipped", statusText(Point{Status: StatusSkipped}), "skipped"},
		{"summarizeStatuses skipped", summarizeStatuses([]Point{{Status: StatusSkipped}, {Status: "killed"}, {}}), "1 pending, 1 skipped, 1 killed"},
		{"statusLabel bisect", statusLabel(Model{Search: &SearchInfo{Method: "bisect"}}, Point{Status: StatusSkipped}), "skipped by bisect"},
		{"statusLabel no search", statusLabel(Model{}, Point{Status: StatusSkipped}), "skipped"},
		{"statusLabel diverged", statusLabel(Model{Search: &SearchInfo{Method: "bisect"}}, Point{Status: StatusDiverged}), "diverged"},
		{"epochsText plain", epochsText(Point{Epochs: 12, Status: StatusOK}), "12"},
		{"epochsText pending", epochsText(Point{Status: StatusPending}), "—"},
		{"epochsText full", epochsText(Point{Epochs: 12, MaxEpochs: 12, Status: StatusOK}), "12"},
		{"epochsText early stop", epochsText(Point{Epochs: 7, MaxEpochs: 12, Status: StatusOK}), "7/12 (early stop)"},
		{"epochsText diverged", epochsText(Point{Epochs: 1, MaxEpochs: 12, Status: StatusDiverged}), "1/12"},
		{"epochsText runs", epochsText(resolve(Point{MaxEpochs: 12, Runs: runsOf(0.9, 0.9, 0.9)}, RuleMean)), "11/12 (early stop)"},
		{"epochsText runs fraction", epochsText(resolve(Point{MaxEpochs: 12, Runs: runsOf(0.9, 0.9)}, RuleMean)), "10.5/12 (early stop)"},
		{"spread", spread(0.00081), "± 0.08"},
		{"seedsText all ok", seedsText(Aggregate(runsOf(0.9, 0.9, 0.9), RuleMean)), "3"},
		{"seedsText diverged", seedsText(Aggregate(runsOf(0.9, -1, 0.9), RuleMean)), "2 of 3 (1 diverged)"},
		{"seedsText both", seedsText(Aggregate(runsOf(0.9, -1, -2), RuleMean)), "1 of 3 (1 diverged, 1 pending)"},
		{"accuracyText three", accuracyText(Model{}, Point{Runs: runsOf(0.9712, 0.9701, 0.9723)}), "97.12% ± 0.11 (min 97.01%, 3 seeds)"},
		{"accuracyText one", accuracyText(Model{}, Point{Runs: runsOf(0.9712)}), "97.12% (1 seed)"},
		{"accuracyText diverged seed", accuracyText(Model{}, Point{Runs: runsOf(0.9712, -1, 0.9701)}), "97.06% ± 0.08 (min 97.01%, 2 of 3 seeds, 1 diverged)"},
		{"accuracyText diverged seed under min", accuracyText(Model{}, resolve(Point{Runs: runsOf(0.9712, -1, 0.9701)}, RuleMin)), "97.06% ± 0.08 (min 97.01%, 2 of 3 seeds, 1 diverged; fails under min)"},
		{"accuracyText all diverged", accuracyText(Model{}, Point{Runs: runsOf(-1, -1)}), "diverged (2 of 2 seeds)"},
		{"accuracyText nothing finished", accuracyText(Model{}, Point{Runs: runsOf(-2)}), "pending"},
		{"accuracyText no runs", accuracyText(Model{}, ok("n=1", 1, 0.971)), "97.10%"},
		{"approxCount 868.3", approxCount(868.3), "868"},
		{"approxCount 17234", approxCount(17234), "17,200"},
		{"approxCount 0.4", approxCount(0.4), "<1"},
		{"approxCount 5", approxCount(5.4), "5"},
		{"versusPrediction above", versusPrediction(932, 870), "7% above the prediction"},
		{"versusPrediction below", versusPrediction(932, 999), "7% below the prediction"},
		{"versusPrediction within", versusPrediction(1000, 998), "within 0.5% of the prediction"},
		{"versusPrediction far above", versusPrediction(3000, 1000), "3× the prediction"},
		{"versusPrediction far below", versusPrediction(250, 1000), "1/4 of the prediction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
