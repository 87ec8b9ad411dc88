package train

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/testmodels"
	"github.com/onnxtune/onnxtune/train/data"
)

// trainable lists the names of m's parameters Assign would train.
func trainable(t *testing.T, a *Assignment) []string {
	t.Helper()
	var names []string
	for _, g := range a.Groups {
		names = append(names, g.Params...)
	}
	if len(names) < 2 {
		t.Fatalf("%d trainable parameters, want 2 or more", len(names))
	}
	return names
}

// TestNewTrainerHandBuiltAssignment: an Assignment built by hand (its
// fields are exported) is checked as torch.optim checks its param groups:
// a parameter in two groups, or twice in one, is refused (it was updated
// once per listing at every step), as are a nil group and a parameter both
// frozen and trained (a nil group panicked). A valid one answers GroupOf
// after NewTrainer: GroupOf said nil (frozen) for every parameter, so
// FreezeBN kept every BatchNorm in eval mode while training its weights.
func TestNewTrainerHandBuiltAssignment(t *testing.T) {
	m := lenet10(t)
	opt, _ := NewOptimizer(SGD)
	auto, err := Assign(m.Params, nil, Hyper{LR: 0.01}, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := trainable(t, auto)
	h := Hyper{LR: 0.01}
	for _, tc := range []struct {
		name string
		a    *Assignment
		want string
	}{
		{"nil group", &Assignment{Groups: []*Group{{Name: "a", Params: names, Hyper: h}, nil}}, "group 1 is nil"},
		{"in two groups", &Assignment{Groups: []*Group{{Name: "a", Params: names, Hyper: h}, {Name: "b", Params: names[:1], Hyper: h}}},
			`parameter "` + names[0] + `" is in groups "a" and "b"`},
		{"twice in a group", &Assignment{Groups: []*Group{{Name: "a", Params: append([]string{names[1]}, names...), Hyper: h}}},
			`parameter "` + names[1] + `" is in groups "a" and "a"`},
		{"frozen and trained", &Assignment{Groups: []*Group{{Name: "a", Params: names, Hyper: h}}, Frozen: names[1:2]},
			`parameter "` + names[1] + `" is frozen and in group "a"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewTrainer(m, CrossEntropy, opt, tc.a); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}

	bn, err := importer.Load(filepath.Join("..", "models", "bn_cnn_preserve.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Prepare(bn); err != nil {
		t.Fatal(err)
	}
	all, err := Assign(bn.Params, nil, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := &Group{Name: "all", Params: trainable(t, all), Hyper: h}
	a := &Assignment{Groups: []*Group{g}}
	tr, err := NewTrainer(bn, CrossEntropy, opt, a)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if got := a.GroupOf(g.Params[0]); got != g {
		t.Errorf("GroupOf(%q) = %v, want the group %q", g.Params[0], got, g.Name)
	}
	tr.FreezeBN = true
	if frozen, err := tr.FrozenBatchNorms(); err != nil || len(frozen) != 0 {
		t.Errorf("FreezeBN with every parameter trained keeps %v in eval mode (error %v), want none", frozen, err)
	}
}

// TestStepChecksTrainerSettings: the settings a Trainer's exported fields
// hold are checked at every step as Config.Validate checks Run's, before
// anything changes (a label smoothing of 5, a negative clipping norm or
// class weight, or a momentum of -1 trained without an error), and a field
// set to nil is an error, not a nil-pointer panic, in Step, Sync and
// FrozenBatchNorms.
func TestStepChecksTrainerSettings(t *testing.T) {
	x := tensor.New(tensor.WithShape(2, 1, 28, 28), tensor.Of(tensor.Float32))
	labels := []int64{1, 2}
	for _, tc := range []struct {
		name    string
		set     func(tr *Trainer)
		want    string
		setting bool
	}{
		{"label smoothing", func(tr *Trainer) { tr.Smoothing = 5 }, "label_smoothing must be between 0.0 and 1.0", true},
		{"clip norm", func(tr *Trainer) { tr.ClipGrad = -1 }, "clip-grad -1.0", true},
		{"class weight", func(tr *Trainer) { tr.ClassWeights = []float64{-1, 1, 1, 1, 1, 1, 1, 1, 1, 1} }, "class weight 0 is -1.0", true},
		{"momentum", func(tr *Trainer) { tr.Momentum = -1 }, "Invalid momentum value: -1.0", true},
		{"loss", func(tr *Trainer) { tr.Loss = "foo" }, `unknown loss "foo"`, true},
		{"nil optimizer", func(tr *Trainer) { tr.Opt = nil }, "no optimizer", false},
		{"nil groups", func(tr *Trainer) { tr.Groups = nil }, "no parameter groups", false},
		{"nil model", func(tr *Trainer) { tr.Model = nil }, "no model", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := lenet10(t)
			tr := sgdTrainer(t, m, Hyper{LR: 0.01, Momentum: 0.9})
			before := slices.Clone(must(tr.Values("fc3.weight")))
			tc.set(tr)
			_, err := tr.Step(x, labels, nil, 1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if tc.setting && !errors.As(err, new(*SettingError)) {
				t.Errorf("error %v is not a *SettingError", err)
			}
			if got, _ := tr.Values("fc3.weight"); !slices.Equal(got, before) {
				t.Error("fc3.weight changed")
			}
			if tc.setting {
				return
			}
			if err := tr.Sync(); tc.name == "nil model" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Sync: error %v, want one saying %q", err, tc.want)
			}
			tr.FreezeBN = true
			if _, err := tr.FrozenBatchNorms(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("FrozenBatchNorms: error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func must(v []float32, ok bool) []float32 {
	if !ok {
		panic("no such parameter")
	}
	return v
}

// TestStepChecksTargets: mse targets of another type or shape than the
// model's output are an error naming the targets and both shapes; gorgonia's
// message named neither (and printed the tensor, over several lines).
func TestStepChecksTargets(t *testing.T) {
	x := tensor.New(tensor.WithShape(2, 1, 28, 28), tensor.Of(tensor.Float32))
	for _, tc := range []struct {
		name    string
		targets *tensor.Dense
		want    string
	}{
		{"shape", tensor.New(tensor.WithShape(2, 3), tensor.Of(tensor.Float32)), "targets have shape [2 3], the model's output \"logits\" has [2 10]"},
		{"rank", &tensor.Dense{}, "targets have shape [], the model's output \"logits\" has [2 10]"},
		{"float64", tensor.New(tensor.WithShape(2, 10), tensor.Of(tensor.Float64)), "targets are float64, mse needs float32"},
		{"int64", tensor.New(tensor.WithShape(2, 10), tensor.Of(tensor.Int64)), "targets are int64, mse needs float32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := sgdTrainerLoss(t, lenet10(t), MSE, Hyper{LR: 0.01})
			_, err := tr.Step(x, nil, tc.targets, 1)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q, want one line saying %q", err, tc.want)
			}
		})
	}
}

// TestStepBatchCountsAgree: a Batch whose N (and labels) disagree with the
// examples its inputs hold is an error saying both counts. With N above,
// the labels were checked against a wrong class count ("not one of the
// model's 4 classes" for a model of 10); with N below, the loss panicked
// (recovered as "index out of range").
func TestStepBatchCountsAgree(t *testing.T) {
	x := tensor.New(tensor.WithShape(2, 1, 28, 28), tensor.Of(tensor.Float32))
	for _, tc := range []struct {
		name   string
		n      int
		labels []int64
	}{
		{"N above", 5, []int64{1, 2, 3, 4, 5}},
		{"N below", 1, []int64{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := sgdTrainer(t, lenet10(t), Hyper{LR: 0.01})
			_, err := tr.StepBatch(data.Batch{Inputs: map[string]*tensor.Dense{"input": x}, Labels: tc.labels, N: tc.n}, 1)
			want := fmt.Sprintf("the batch has %d examples (N), the model's output \"logits\" has 2", tc.n)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want one saying %q", err, want)
			}
		})
	}
}

// TestTrainerNotFromNewTrainer: a Trainer written as a literal (its fields
// are exported) is an error saying it needs NewTrainer, in every method
// that returns one: Step said "the model takes 0 inputs ()", StepBatch
// that the model does not take its input, and Sync did nothing.
func TestTrainerNotFromNewTrainer(t *testing.T) {
	m := lenet10(t)
	groups, err := Assign(m.Params, nil, Hyper{LR: 0.01}, nil)
	if err != nil {
		t.Fatal(err)
	}
	opt, _ := NewOptimizer(SGD)
	tr := &Trainer{Model: m, Loss: CrossEntropy, Opt: opt, Groups: groups, FreezeBN: true}
	x := tensor.New(tensor.WithShape(2, 1, 28, 28), tensor.Of(tensor.Float32))
	b := data.Batch{Inputs: map[string]*tensor.Dense{"input": x}, Labels: []int64{1, 2}, N: 2}
	const want = "train: the Trainer was not made by NewTrainer"
	for name, f := range map[string]func() error{
		"Step":             func() error { _, err := tr.Step(x, b.Labels, nil, 1); return err },
		"StepBatch":        func() error { _, err := tr.StepBatch(b, 1); return err },
		"Accumulate":       func() error { _, err := tr.Accumulate(b, 1); return err },
		"Apply":            func() error { _, err := tr.Apply(1); return err },
		"Sync":             tr.Sync,
		"FrozenBatchNorms": func() error { _, err := tr.FrozenBatchNorms(); return err },
	} {
		t.Run(name, func(t *testing.T) {
			if err := f(); err == nil || err.Error() != want {
				t.Errorf("error %v, want %q", err, want)
			}
		})
	}
}

// TestStepAfterLossSettingsChange: a change of the settings the programs
// are compiled with (Loss, Smoothing, ClassWeights, FreezeBN) takes effect
// at the next step, for batches of every shape: the program compiled at the
// first step was kept, so a label smoothing set later applied to batches
// of a new shape only. Steps at learning-rate factor 0 leave the weights,
// so the loss must be that of a Trainer made with the new setting.
func TestStepAfterLossSettingsChange(t *testing.T) {
	x, y := testmodels.MNISTTest(t, 4)
	b := data.Batch{Inputs: inputs(ops.Dense([]int{4, 1, 28, 28}, x)), Labels: y, N: 4}
	h := Hyper{LR: 0.01, Momentum: 0.9}
	for _, tc := range []struct {
		name string
		set  func(tr *Trainer)
	}{
		{"smoothing", func(tr *Trainer) { tr.Smoothing = 0.3 }},
		{"class weights", func(tr *Trainer) { tr.ClassWeights = []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fresh := sgdTrainer(t, lenet10(t), h)
			tc.set(fresh)
			want, err := fresh.StepBatch(b, 0)
			if err != nil {
				t.Fatal(err)
			}
			tr := sgdTrainer(t, lenet10(t), h)
			before, err := tr.StepBatch(b, 0)
			if err != nil {
				t.Fatal(err)
			}
			if before.Loss == want.Loss {
				t.Fatalf("loss %v with and without the setting: the test cannot tell", want.Loss)
			}
			tc.set(tr)
			got, err := tr.StepBatch(b, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got.Loss != want.Loss {
				t.Errorf("loss after the change %v, want %v (a Trainer made with it; %v before)", got.Loss, want.Loss, before.Loss)
			}
		})
	}
}
