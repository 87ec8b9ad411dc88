package train

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

// scripted is a Validator whose metric follows a script by epoch: the
// epoch is the one of the last step (*epoch, 0-based), so a resumed run
// sees what an uninterrupted one saw.
func scripted(epoch *int, losses, accs []float64) Validator {
	return func(*graph.Model) (*Metrics, error) {
		m := &Metrics{N: 1}
		if losses != nil {
			m.Loss = losses[*epoch]
		}
		if accs != nil {
			m.Accuracy = accs[*epoch]
		}
		return m, nil
	}
}

// TestSaveBestAndEarlyStop: with Config.Best the model ends with the
// weights (BatchNorm's statistics included) of the best epoch, not the
// last; with Patience the run stops after that many epochs without
// improvement. The metric is scripted so that the best epoch is known.
func TestSaveBestAndEarlyStop(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name       string
		metric     Metric
		losses     []float64
		accs       []float64
		patience   int
		wantBest   int // 1-based; 0: none
		wantEpochs int
		wantFlags  string // per epoch: B for best so far
	}{
		{"val_loss early stop", ValLoss, []float64{3, 1, 2, 0.5, 0.7, 0.6, 0.9, 0.4}, nil, 3, 4, 7, "BB.B..."},
		{"val_loss to the end", ValLoss, []float64{3, 1, 2, 0.5, 0.7, 0.6, 0.9, 0.4}, nil, 0, 8, 8, "BB.B...B"},
		{"patience 1", ValLoss, []float64{3, 1, 2, 0.5, 0.7, 0.6, 0.9, 0.4}, nil, 1, 2, 3, "BB."},
		{"val_accuracy, a tie is no improvement", ValAccuracy, nil, []float64{0.5, 0.7, 0.7, 0.6, 0.7, 0.7, 0.7, 0.7}, 2, 2, 4, "BB.."},
		{"NaN is never best", ValLoss, []float64{nan, 2, nan, 1, nan, nan, nan, nan}, nil, 0, 4, 8, ".B.B...."},
		{"no best at all", ValLoss, []float64{nan, nan, nan, nan, nan, nan, nan, nan}, nil, 0, 0, 8, "........"},
	}
	src := newMLPSource(44, 8)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			epoch := 0
			var snaps []map[string][]float32
			flags := ""
			m := mlpDropout(t)
			cfg := Config{Epochs: 8, Optimizer: SGD, Defaults: Hyper{LR: 0.05, Momentum: 0.9}, Loss: CrossEntropy, Seed: 3,
				Best: c.metric, Patience: c.patience,
				OnStep: func(s StepInfo) { epoch = s.Epoch },
				OnEpoch: func(e EpochInfo) {
					// Run syncs the model before validating: these are the
					// epoch's weights.
					snaps = append(snaps, weightsOf(t, m))
					if e.Best {
						flags += "B"
					} else {
						flags += "."
					}
				}}
			res, err := Run(context.Background(), m, src, scripted(&epoch, c.losses, c.accs), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.BestEpoch != c.wantBest || len(res.Epochs) != c.wantEpochs || flags != c.wantFlags {
				t.Fatalf("best epoch %d after %d epochs (%s), want %d after %d (%s)", res.BestEpoch, len(res.Epochs), flags,
					c.wantBest, c.wantEpochs, c.wantFlags)
			}
			if res.EarlyStopped != (c.wantEpochs < 8) {
				t.Errorf("EarlyStopped %v after %d epochs", res.EarlyStopped, len(res.Epochs))
			}
			want := snaps[len(snaps)-1] // no best: the last weights
			if c.wantBest > 0 {
				want = snaps[c.wantBest-1]
				if v := c.metric.Value(res.Epochs[c.wantBest-1].Val); res.BestValue != v {
					t.Errorf("best value %v, want %v", res.BestValue, v)
				}
			}
			sameTensors(t, want, weightsOf(t, m))
			if c.wantBest > 0 && c.wantBest < len(snaps) {
				// Not trivially so: the last epoch's weights differ.
				last := snaps[len(snaps)-1]["fc2.weight"]
				if w := want["fc2.weight"]; w[0] == last[0] && w[1] == last[1] {
					t.Fatal("the best and the last epoch have the same weights")
				}
			}
		})
	}
}

// TestSaveBestResume: a run with a watched metric and early stopping,
// interrupted after its best epoch and resumed from the checkpoint, stops
// at the same epoch with the same best weights, bit for bit, as one that
// ran through; a resume that watches another metric, or another patience,
// is refused.
func TestSaveBestResume(t *testing.T) {
	src := newMLPSource(44, 8) // 6 batches an epoch
	losses := []float64{3, 1, 2, 0.5, 0.7, 0.6, 0.9, 0.4}
	cfg := Config{Epochs: 8, Optimizer: SGD, Defaults: Hyper{LR: 0.05, Momentum: 0.9}, Loss: CrossEntropy, Seed: 3,
		Best: ValLoss, Patience: 3}
	epoch := 0
	cfg.OnStep = func(s StepInfo) { epoch = s.Epoch }
	whole := mlpDropout(t)
	want, err := Run(context.Background(), whole, src, scripted(&epoch, losses, nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, stopAt := range []int64{33, 24} { // in epoch 6 (after the best, one bad epoch); at the end of epoch 4
		cfg := cfg
		cfg.Checkpoint = t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		cfg.OnStep = func(s StepInfo) {
			epoch = s.Epoch
			if s.Step == stopAt {
				cancel()
			}
		}
		res, err := Run(ctx, mlpDropout(t), src, scripted(&epoch, losses, nil), cfg)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if !res.Stopped {
			t.Fatalf("not stopped at step %d", stopAt)
		}
		for _, bad := range []struct {
			best     Metric
			patience int
			msg      string
		}{{ValAccuracy, 3, "best is val_loss there, val_accuracy here"}, {ValLoss, 2, "early_stop is 3 there, 2 here"}} {
			c := cfg
			c.Resume, c.Best, c.Patience, c.OnStep = true, bad.best, bad.patience, nil
			if _, err := Run(context.Background(), mlpDropout(t), src, scripted(&epoch, losses, nil), c); err == nil || !strings.Contains(err.Error(), bad.msg) {
				t.Errorf("resume watching %s, patience %d: %v, want %q", bad.best, bad.patience, err, bad.msg)
			}
		}
		cfg.Resume = true
		cfg.OnStep = func(s StepInfo) { epoch = s.Epoch }
		resumed := mlpDropout(t)
		got, err := Run(context.Background(), resumed, src, scripted(&epoch, losses, nil), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got.BestEpoch != want.BestEpoch || got.BestValue != want.BestValue || !got.EarlyStopped || got.Steps != want.Steps {
			t.Errorf("stop at %d: resumed: best epoch %d (%v), early stop %v after %d steps; uninterrupted: %d (%v), %v after %d",
				stopAt, got.BestEpoch, got.BestValue, got.EarlyStopped, got.Steps, want.BestEpoch, want.BestValue, want.EarlyStopped, want.Steps)
		}
		sameWeights(t, whole, resumed)
	}
	// A run that stopped early, resumed: nothing more to do, the same end.
	cfg.Checkpoint = t.TempDir()
	if _, err := Run(context.Background(), mlpDropout(t), src, scripted(&epoch, losses, nil), cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Resume = true
	again := mlpDropout(t)
	got, err := Run(context.Background(), again, src, scripted(&epoch, losses, nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Epochs) != 0 || !got.EarlyStopped || got.BestEpoch != want.BestEpoch || got.Steps != want.Steps {
		t.Errorf("resumed after an early stop: %d epochs, early stop %v, best %d, %d steps", len(got.Epochs), got.EarlyStopped, got.BestEpoch, got.Steps)
	}
	sameWeights(t, whole, again)
	if want.BestEpoch != 4 || want.Steps != 7*6 {
		t.Errorf("uninterrupted: best epoch %d after %d steps, want 4 after 42", want.BestEpoch, want.Steps)
	}
}

// TestBestSettings: a watched metric needs validation data, a known name,
// and class labels unless it is val_loss; patience needs a metric.
func TestBestSettings(t *testing.T) {
	base := Config{Epochs: 1, Optimizer: SGD, Defaults: Hyper{LR: 0.1}, Loss: CrossEntropy}
	for _, c := range []struct {
		name string
		edit func(*Config)
		msg  string
	}{
		{"unknown", func(c *Config) { c.Best = "val_auc" }, `unknown metric "val_auc"`},
		{"mse", func(c *Config) { c.Best, c.Loss = ValAccuracy, MSE }, "with mse only val_loss"},
		{"patience alone", func(c *Config) { c.Patience = 2 }, "early stopping needs a metric"},
		{"negative patience", func(c *Config) { c.Best, c.Patience = ValLoss, -1 }, "want 1 or more"},
	} {
		cfg := base
		c.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %q", c.name, err, c.msg)
		}
	}
	cfg := base
	cfg.Best = ValLoss
	if _, err := Run(context.Background(), mlpDropout(t), newMLPSource(8, 8), nil, cfg); err == nil || !strings.Contains(err.Error(), "needs validation data") {
		t.Errorf("no validator: %v", err)
	}
}

// TestSaveBestWithEMA: with WriteEMA the validator sees the EMA copy, and
// the best epoch's weights written are that copy as validated (not the
// raw weights trained at that epoch).
func TestSaveBestWithEMA(t *testing.T) {
	src := newMLPSource(44, 8)
	run := func(writeEMA bool) (validated []map[string][]float32, final map[string][]float32) {
		epoch := 0
		m := mlpDropout(t)
		script := scripted(&epoch, []float64{3, 1, 2}, nil)
		val := func(g *graph.Model) (*Metrics, error) {
			validated = append(validated, weightsOf(t, g))
			return script(g)
		}
		cfg := Config{Epochs: 3, Optimizer: SGD, Defaults: Hyper{LR: 0.05, Momentum: 0.9}, Loss: CrossEntropy, Seed: 3,
			Best: ValLoss, StepOptions: StepOptions{EMA: 0.5, WriteEMA: writeEMA},
			OnStep: func(s StepInfo) { epoch = s.Epoch }}
		res, err := Run(context.Background(), m, src, val, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.BestEpoch != 2 {
			t.Fatalf("best epoch %d, want 2", res.BestEpoch)
		}
		return validated, weightsOf(t, m)
	}
	emaSeen, emaFinal := run(true)
	rawSeen, rawFinal := run(false)
	sameTensors(t, emaSeen[1], emaFinal)
	sameTensors(t, rawSeen[1], rawFinal)
	if w, r := emaFinal["fc2.weight"], rawFinal["fc2.weight"]; w[0] == r[0] && w[1] == r[1] {
		t.Fatal("the EMA and the raw weights of the best epoch are the same: the test shows nothing")
	}
}
