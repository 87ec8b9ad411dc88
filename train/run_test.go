package train

import (
	"context"
	"math"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/testmodels"
	"github.com/onnxtune/onnxtune/train/data"
)

// memSource serves MNIST test digits in batches, shuffled per epoch from a
// seed.
type memSource struct {
	x  []float32
	y  []int64
	bs int
}

func (s *memSource) Batches() int { return (len(s.y) + s.bs - 1) / s.bs }

func (s *memSource) Batch(e, i int) (data.Batch, error) {
	perm := rand.New(rand.NewSource(int64(e))).Perm(len(s.y))
	lo, hi := i*s.bs, min((i+1)*s.bs, len(s.y))
	x := make([]float32, 0, (hi-lo)*784)
	y := make([]int64, 0, hi-lo)
	for _, j := range perm[lo:hi] {
		x = append(x, s.x[j*784:(j+1)*784]...)
		y = append(y, s.y[j])
	}
	return data.Batch{Inputs: inputs(ops.Dense([]int{hi - lo, 1, 28, 28}, x)), Labels: y, N: hi - lo}, nil
}

func lenet10(t *testing.T) *graph.Model {
	m, err := importer.Load(filepath.Join("..", "models", "mnist_lenet_10.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sgdTrainer is a cross-entropy Trainer of m with torch.optim.SGD at h, one
// group, closed when the test ends.
func sgdTrainer(t *testing.T, m *graph.Model, h Hyper) *Trainer {
	t.Helper()
	return sgdTrainerLoss(t, m, CrossEntropy, h)
}

// sgdTrainerLoss is sgdTrainer with another loss.
func sgdTrainerLoss(t *testing.T, m *graph.Model, loss Loss, h Hyper) *Trainer {
	t.Helper()
	groups, err := Assign(m.Params, nil, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	opt, _ := NewOptimizer(SGD)
	tr, err := NewTrainer(m, loss, opt, groups)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func weightsOf(t *testing.T, m *graph.Model) map[string][]float32 {
	out := make(map[string][]float32)
	for _, init := range m.Graph.Initializers {
		if v, err := init.Float32s(); err == nil {
			out[init.Name] = v
		}
	}
	return out
}

// TestResume: a run interrupted in the middle of an epoch and resumed from
// its checkpoint ends with the same weights, bit for bit, as one that ran
// through.
func TestResume(t *testing.T) {
	x, y := testmodels.MNISTTest(t, 100)
	src := &memSource{x: x, y: y, bs: 16} // 7 batches, the last partial
	cfg := Config{Epochs: 3, Optimizer: SGD, Defaults: Hyper{LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4},
		Groups: []GroupSpec{{Pattern: "fc3.*", Set: map[string]float64{"lr": 0.1}}}, Loss: CrossEntropy}

	whole := lenet10(t)
	if _, err := Run(context.Background(), whole, src, nil, cfg); err != nil {
		t.Fatal(err)
	}

	cfg.Checkpoint = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cfg.OnStep = func(s StepInfo) {
		if s.Step == 10 { // epoch 2, batch 3
			cancel()
		}
	}
	part := lenet10(t)
	res, err := Run(ctx, part, src, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Stopped || res.Steps != 10 {
		t.Fatalf("stopped %v after %d steps, want a stop after 10", res.Stopped, res.Steps)
	}
	cfg.OnStep, cfg.Resume = nil, true
	resumed := lenet10(t)
	res, err = Run(context.Background(), resumed, src, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 21 {
		t.Errorf("resumed run ended at step %d, want 21", res.Steps)
	}
	want, got := weightsOf(t, whole), weightsOf(t, resumed)
	for name, w := range want {
		g := got[name]
		for i := range w {
			if g[i] != w[i] {
				t.Fatalf("%s[%d]: resumed %v, uninterrupted %v", name, i, g[i], w[i])
			}
		}
	}
}

// TestResumeAfterStepLimit: a run ended by Steps in the middle of an epoch
// and resumed with more steps ends with the weights, bit for bit, of one
// that ran the larger count through (the resumed run goes on from the
// batch after the last one trained, not from the next epoch), also with
// accumulation; the epoch's reported means cover all its batches.
func TestResumeAfterStepLimit(t *testing.T) {
	x, y := testmodels.MNISTTest(t, 80)
	src := &memSource{x: x, y: y, bs: 16} // 5 batches
	for _, accum := range []int{1, 2} {
		cfg := Config{Optimizer: SGD, Defaults: Hyper{LR: 0.01, Momentum: 0.9}, Loss: CrossEntropy,
			Groups: []GroupSpec{{Pattern: "fc3.*", Set: map[string]float64{"lr": 0.1}}}, StepOptions: StepOptions{GradAccum: accum}}
		cfg.Steps = 5
		whole := lenet10(t)
		wres, err := Run(context.Background(), whole, src, nil, cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Checkpoint, cfg.Steps = t.TempDir(), 2 // mid-epoch either way
		if _, err := Run(context.Background(), lenet10(t), src, nil, cfg); err != nil {
			t.Fatal(err)
		}
		cfg.Steps, cfg.Resume = 5, true
		resumed := lenet10(t)
		rres, err := Run(context.Background(), resumed, src, nil, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if rres.Steps != 5 {
			t.Fatalf("accum %d: resumed run ended at step %d, want 5", accum, rres.Steps)
		}
		sameTensors(t, weightsOf(t, whole), weightsOf(t, resumed))
		if w, r := wres.Epochs[0], rres.Epochs[0]; w.Samples != r.Samples || w.Loss != r.Loss {
			t.Errorf("accum %d: first epoch's means over %d examples (loss %v) after the resume, %d (%v) uninterrupted",
				accum, r.Samples, r.Loss, w.Samples, w.Loss)
		}
	}
}

// TestNonFiniteLossStops: a learning rate that blows the loss up stops the
// run with an error naming the step.
func TestNonFiniteLossStops(t *testing.T) {
	x, y := testmodels.MNISTTest(t, 64)
	src := &memSource{x: x, y: y, bs: 16}
	cfg := Config{Epochs: 50, Optimizer: SGD, Defaults: Hyper{LR: 1e6, Momentum: 0.9}, Loss: CrossEntropy}
	_, err := Run(context.Background(), lenet10(t), src, nil, cfg)
	if err == nil {
		t.Fatal("no error")
	}
	t.Log(err)
	// Four batches an epoch: step 3 is the third batch, counted from 1
	// as --metrics counts them.
	if !strings.Contains(err.Error(), "step 3 (epoch 1, batch 3)") || !strings.Contains(err.Error(), "loss is not finite") {
		t.Errorf("error %q does not name the step", err)
	}
}

// inputs feeds x to the graph input "input" of the sample models.
func inputs(x *tensor.Dense) map[string]*tensor.Dense { return map[string]*tensor.Dense{"input": x} }

// TestResumeLogCountsFrom1: the resume's log line says where the run goes
// on, epochs, batches and steps counted from 1 as --metrics counts them:
// after a whole epoch and in the middle of one.
func TestResumeLogCountsFrom1(t *testing.T) {
	x, y := testmodels.MNISTTest(t, 64)
	src := &memSource{x: x, y: y, bs: 16} // 4 batches
	for _, c := range []struct {
		steps int64
		want  string
	}{
		{4, "resuming at epoch 2, step 5 (after epoch 1, step 4)"},
		{6, "resuming at epoch 2, batch 3, step 7 (after step 6, batch 2 of epoch 2)"},
	} {
		cfg := Config{Optimizer: SGD, Defaults: Hyper{LR: 0.01}, Loss: CrossEntropy, Checkpoint: t.TempDir(), Steps: c.steps}
		if _, err := Run(context.Background(), lenet10(t), src, nil, cfg); err != nil {
			t.Fatal(err)
		}
		var buf strings.Builder
		log := logrus.New()
		log.SetOutput(&buf)
		cfg.Steps, cfg.Resume, cfg.Logger = 8, true, log
		if _, err := Run(context.Background(), lenet10(t), src, nil, cfg); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), c.want) {
			t.Errorf("after %d steps: log %q, want %q", c.steps, buf.String(), c.want)
		}
	}
}

// TestStepsPerEpoch: an epoch's optimizer steps are its batches divided by
// GradAccum, rounded up (a shorter last group steps too), for any
// GradAccum: near the largest int the rounding overflowed to 0 steps.
func TestStepsPerEpoch(t *testing.T) {
	for _, c := range []struct{ batches, accum, want int }{
		{0, 1, 0}, {7, 1, 7}, {7, 0, 7}, {7, 2, 4}, {8, 2, 4}, {7, 7, 1}, {7, 8, 1},
		{7, math.MaxInt, 1}, {7, math.MaxInt - 1, 1}, {math.MaxInt, 1, math.MaxInt}, {math.MaxInt, 2, math.MaxInt/2 + 1},
	} {
		if got := StepsPerEpoch(c.batches, c.accum); got != c.want {
			t.Errorf("StepsPerEpoch(%d, %d) = %d, want %d", c.batches, c.accum, got, c.want)
		}
	}
}
