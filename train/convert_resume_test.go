package train

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/remap"
)

// anonymized writes the MLP training export with its initializers named
// as the exporter names folded tensors (onnx::Gemm_100, ...), so that name
// recovery gives the PyTorch names and 'onnxtune convert' renames them,
// and returns the file.
func anonymized(t *testing.T) string {
	t.Helper()
	m := mlpDropout(t)
	rename := make(map[string]string)
	for i, init := range m.Graph.Initializers {
		if !init.DType.IsFloat() {
			continue
		}
		op := "Gemm"
		if strings.HasPrefix(init.Name, "bn.") {
			op = "BatchNormalization"
		}
		rename[init.Name] = fmt.Sprintf("onnx::%s_%d", op, 100+i)
		init.Name = rename[init.Name]
	}
	for _, n := range m.Graph.Nodes {
		for i, in := range n.Inputs {
			if r, ok := rename[in]; ok {
				n.Inputs[i] = r
			}
		}
	}
	path := filepath.Join(t.TempDir(), "anonymized.onnx")
	if err := export.WriteFile(path, m); err != nil {
		t.Fatal(err)
	}
	return path
}

// converted does what 'onnxtune convert' does: inference form, untied
// tensors, initializers renamed to their PyTorch names.
func converted(t *testing.T, path string) *graph.Model {
	t.Helper()
	m, err := importer.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remap.Convert(m); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "converted.onnx")
	if err := export.WriteFile(out, m); err != nil {
		t.Fatal(err)
	}
	if m, err = importer.Load(out); err != nil {
		t.Fatal(err)
	}
	return m
}

// byPyTorchName returns a model's float parameters and buffers by PyTorch
// name.
func byPyTorchName(t *testing.T, m *graph.Model) map[string][]float32 {
	t.Helper()
	out := make(map[string][]float32)
	for _, p := range m.Params {
		init := m.Graph.Initializer(p.Initializer)
		if init == nil || init.DType != graph.Float32 {
			continue
		}
		v, err := init.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		out[p.Name] = v
	}
	return out
}

// TestResumeAfterConvert: a checkpoint made while training a training
// export whose tensors carry the exporter's names (onnx::Gemm_100) resumes
// on the model 'onnxtune convert' made of it (inference form, tensors
// renamed to fc1.weight...), for each optimizer, and ends bit for bit where
// an uninterrupted run on the converted model ends: weights, optimizer
// state and BatchNorm running statistics are all keyed by PyTorch names.
func TestResumeAfterConvert(t *testing.T) {
	src := newMLPSource(44, 8)
	for _, algo := range []Algorithm{SGD, Adam, AdamW} {
		t.Run(string(algo), func(t *testing.T) {
			cfg := Config{Epochs: 3, Optimizer: algo, Defaults: Hyper{LR: 0.05, Momentum: 0.9, WeightDecay: 1e-4},
				Groups: []GroupSpec{{Pattern: "fc2.*", Set: map[string]float64{"lr": 0.1}}}, Loss: CrossEntropy, Seed: 3}
			orig := anonymized(t)
			before, err := importer.Load(orig)
			if err != nil {
				t.Fatal(err)
			}
			renamed := 0
			for _, p := range before.Params {
				if p.Initializer != p.Name {
					renamed++
				}
			}
			if renamed != 8 {
				t.Fatalf("%d parameters with exporter names, want 8", renamed)
			}

			whole := converted(t, orig)
			if _, err := Run(context.Background(), whole, src, nil, cfg); err != nil {
				t.Fatal(err)
			}
			// Training does not depend on the form convert changed: the
			// export itself, uninterrupted, ends at the same weights.
			exported, err := importer.Load(orig)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Run(context.Background(), exported, src, nil, cfg); err != nil {
				t.Fatal(err)
			}
			sameByName(t, byPyTorchName(t, whole), byPyTorchName(t, exported))

			cfg.Checkpoint = t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cfg.OnStep = func(s StepInfo) {
				if s.Step == 8 {
					cancel()
				}
			}
			res, err := Run(ctx, before, src, nil, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Stopped || res.Steps != 8 {
				t.Fatalf("stopped %v after %d steps, want a stop after 8", res.Stopped, res.Steps)
			}
			arrs, err := npz.Read(CheckpointPath(cfg.Checkpoint))
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"w/fc1.weight", "w/bn.running_mean", "w/bn.running_var", "steps/fc2.bias"} {
				if _, ok := arrs[k]; !ok {
					t.Errorf("checkpoint has no %q", k)
				}
			}
			for k := range arrs {
				if strings.Contains(k, "onnx::") {
					t.Errorf("checkpoint entry %q is keyed by an ONNX name", k)
				}
			}

			cfg.OnStep, cfg.Resume = nil, true
			resumed := converted(t, orig)
			if _, err := Run(context.Background(), resumed, src, nil, cfg); err != nil {
				t.Fatal(err)
			}
			sameByName(t, byPyTorchName(t, whole), byPyTorchName(t, resumed))
		})
	}
}

// sameByName fails unless got holds exactly want's 8 tensors, bit for bit.
func sameByName(t *testing.T, want, got map[string][]float32) {
	t.Helper()
	if len(want) != 8 {
		t.Fatalf("%d tensors, %d wanted, want 8", len(got), len(want))
	}
	sameTensors(t, want, got)
}

// TestResumeRefusesOtherSettings: a checkpoint is refused when the run's
// optimizer or any hyperparameter of the table that the optimizer reads,
// in any group, differs from the checkpoint's, naming the difference; and
// when it is of the earlier format keyed by ONNX names.
func TestResumeRefusesOtherSettings(t *testing.T) {
	src := newMLPSource(44, 8)
	sgd := Config{Epochs: 3, Optimizer: SGD, Defaults: Hyper{LR: 0.05, Momentum: 0.9},
		Groups: []GroupSpec{{Pattern: "fc2.*", Set: map[string]float64{"lr": 0.1}}}, Loss: CrossEntropy, Seed: 3}
	adam := sgd
	adam.Optimizer = Adam
	cases := []struct {
		name string
		base Config
		edit func(c *Config)
		want string
	}{
		{"adam to adamw", adam, func(c *Config) { c.Optimizer = AdamW }, "saved with optimizer adam, this run uses adamw"},
		{"adam to sgd", adam, func(c *Config) { c.Optimizer = SGD }, "saved with optimizer adam, this run uses sgd"},
		{"beta2", adam, func(c *Config) { c.Defaults.Beta1, c.Defaults.Beta2 = 0.9, 0.99 }, `group "default": beta2 is 0.999 there, 0.99 here`},
		{"eps in a group", adam, func(c *Config) { c.Groups[0].Set = map[string]float64{"lr": 0.1, "eps": 1e-6} },
			`group "fc2.*": eps is 1e-08 there, 1e-06 here`},
		{"nesterov", sgd, func(c *Config) { c.Defaults.Nesterov = true }, `group "default": nesterov is 0 there, 1 here`},
		{"dampening", sgd, func(c *Config) { c.Defaults.Dampening = 0.5 }, `group "default": dampening is 0 there, 0.5 here`},
		{"weight decay in a group", sgd, func(c *Config) { c.Groups[0].Set = map[string]float64{"lr": 0.1, "weight_decay": 0.01} },
			`group "fc2.*": weight_decay is 0 there, 0.01 here`},
		{"one group more", sgd, func(c *Config) {
			c.Groups = append(c.Groups, GroupSpec{Pattern: "bn.*", Set: map[string]float64{"lr": 0.1}})
		}, "saved with 2 parameter groups, this run has 3"},
		{"a group less", sgd, func(c *Config) { c.Groups = nil }, "saved with 2 parameter groups, this run has 1"},
		{"format 2", sgd, func(c *Config) {}, fmt.Sprintf("format version 2, want %d", checkpointVersion)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := tc.base
			base.Groups = append([]GroupSpec(nil), base.Groups...)
			dir := interrupted(t, src, base)
			if tc.name == "format 2" {
				editMeta(t, dir, func(m map[string]any) { m["version"] = 2 })
			}
			cfg := base
			cfg.Checkpoint, cfg.Resume = dir, true
			tc.edit(&cfg)
			_, err := runNoPanic(t, mlpDropout(t), src, cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
}
