package train

import (
	"context"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/train/data"
)

// mlpSource serves fixed random examples for the MLP with Dropout (20
// features, 3 classes), shuffled per epoch.
type mlpSource struct {
	x  []float32
	y  []int64
	bs int
}

func newMLPSource(n, bs int) *mlpSource {
	r := rand.New(rand.NewSource(7))
	s := &mlpSource{x: make([]float32, n*20), y: make([]int64, n), bs: bs}
	for i := range s.x {
		s.x[i] = float32(r.NormFloat64())
	}
	for i := range s.y {
		s.y[i] = int64(r.Intn(3))
	}
	return s
}

func (s *mlpSource) Batches() int { return (len(s.y) + s.bs - 1) / s.bs }

func (s *mlpSource) Batch(e, i int) (data.Batch, error) {
	perm := rand.New(rand.NewSource(int64(e))).Perm(len(s.y))
	lo, hi := i*s.bs, min((i+1)*s.bs, len(s.y))
	var x []float32
	var y []int64
	for _, j := range perm[lo:hi] {
		x = append(x, s.x[j*20:(j+1)*20]...)
		y = append(y, s.y[j])
	}
	return data.Batch{Inputs: inputs(ops.Dense([]int{hi - lo, 20}, x)), Labels: y, N: hi - lo}, nil
}

func mlpDropout(t *testing.T) *graph.Model {
	m, err := importer.Load(filepath.Join("..", "models", "mlp_bn_training.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameWeights(t *testing.T, want, got *graph.Model) {
	t.Helper()
	sameTensors(t, weightsOf(t, want), weightsOf(t, got))
}

// sameTensors fails unless got holds exactly want's tensors, bit for bit.
func sameTensors(t *testing.T, want, got map[string][]float32) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%d tensors, want %d", len(got), len(want))
	}
	for name, w := range want {
		g := got[name]
		if len(g) != len(w) {
			t.Fatalf("%s: %d values, want %d", name, len(g), len(w))
		}
		for i := range w {
			if g[i] != w[i] {
				t.Fatalf("%s[%d]: %v, want %v", name, i, g[i], w[i])
			}
		}
	}
}

// TestResumeDropout: with Dropout active, a run interrupted mid-epoch and
// resumed ends bit for bit where an uninterrupted run ends, for each
// optimizer: the random stream's state is part of the checkpoint. The
// batches (5 of 8 and one of 4) use two compiled programs.
func TestResumeDropout(t *testing.T) {
	src := newMLPSource(44, 8)
	for _, algo := range []Algorithm{SGD, Adam} {
		t.Run(string(algo), func(t *testing.T) {
			cfg := Config{Epochs: 3, Optimizer: algo, Defaults: Hyper{LR: 0.05, Momentum: 0.9, WeightDecay: 1e-4},
				Groups: []GroupSpec{{Pattern: "fc2.*", Set: map[string]float64{"lr": 0.1}}}, Loss: CrossEntropy, Seed: 3}
			whole := mlpDropout(t)
			if _, err := Run(context.Background(), whole, src, nil, cfg); err != nil {
				t.Fatal(err)
			}
			// The dropout masks matter: another seed ends elsewhere.
			other := mlpDropout(t)
			cfg2 := cfg
			cfg2.Seed = 4
			if _, err := Run(context.Background(), other, src, nil, cfg2); err != nil {
				t.Fatal(err)
			}
			a, b := weightsOf(t, whole)["fc2.weight"], weightsOf(t, other)["fc2.weight"]
			if a[0] == b[0] && a[1] == b[1] && a[2] == b[2] {
				t.Fatal("the seed does not change training: Dropout is not active")
			}

			cfg.Checkpoint = t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cfg.OnStep = func(s StepInfo) {
				if s.Step == 8 { // epoch 2, after batch 3
					cancel()
				}
			}
			res, err := Run(ctx, mlpDropout(t), src, nil, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Stopped || res.Steps != 8 {
				t.Fatalf("stopped %v after %d steps, want a stop after 8", res.Stopped, res.Steps)
			}
			cfg.OnStep, cfg.Resume = nil, true
			resumed := mlpDropout(t)
			if _, err := Run(context.Background(), resumed, src, nil, cfg); err != nil {
				t.Fatal(err)
			}
			sameWeights(t, whole, resumed)
		})
	}
}

// interrupted writes a checkpoint of the MLP stopped after 8 steps of cfg
// and returns its folder.
func interrupted(t *testing.T, src Source, cfg Config) string {
	t.Helper()
	cfg.Checkpoint = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg.OnStep = func(s StepInfo) {
		if s.Step == 8 {
			cancel()
		}
	}
	if _, err := Run(ctx, mlpDropout(t), src, nil, cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.Checkpoint
}

// editCheckpoint rewrites the checkpoint in dir through f.
func editCheckpoint(t *testing.T, dir string, f func(arrs map[string]npz.Array)) {
	t.Helper()
	path := filepath.Join(dir, checkpointFile)
	arrs, err := npz.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	f(arrs)
	if err := npz.Write(path, arrs); err != nil {
		t.Fatal(err)
	}
}

// editMeta rewrites the checkpoint's JSON settings through f.
func editMeta(t *testing.T, dir string, f func(m map[string]any)) {
	editCheckpoint(t, dir, func(arrs map[string]npz.Array) {
		var m map[string]any
		if err := json.Unmarshal(arrs["meta"].Data.([]uint8), &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		arrs["meta"] = npz.Array{Shape: []int{len(b)}, Data: b}
	})
}

// TestResumeRefusesCheckpoint: a checkpoint that does not fit the model or
// the settings is refused before it is used, with an error naming what
// differs; a damaged or hostile one too, without a panic.
func TestResumeRefusesCheckpoint(t *testing.T) {
	src := newMLPSource(44, 8)
	base := Config{Epochs: 3, Optimizer: SGD, Defaults: Hyper{LR: 0.05, Momentum: 0.9},
		Groups: []GroupSpec{{Pattern: "fc2.*", Set: map[string]float64{"lr": 0.1}}}, Loss: CrossEntropy, Seed: 3}
	cases := []struct {
		name string
		edit func(t *testing.T, dir string, cfg *Config)
		want string
	}{
		{"short momentum buffer", func(t *testing.T, dir string, _ *Config) {
			editCheckpoint(t, dir, func(a map[string]npz.Array) {
				b := a["opt/fc1.weight/momentum_buffer"]
				a["opt/fc1.weight/momentum_buffer"] = npz.Array{Shape: []int{3}, Data: b.Data.([]float32)[:3]}
			})
		}, `optimizer state "fc1.weight/momentum_buffer": 3 float32 values, want 640`},
		{"missing momentum buffer", func(t *testing.T, dir string, _ *Config) {
			editCheckpoint(t, dir, func(a map[string]npz.Array) { delete(a, "opt/bn.bias/momentum_buffer") })
		}, `entry "opt/bn.bias/momentum_buffer" is missing`},
		{"negative epoch", func(t *testing.T, dir string, _ *Config) {
			editMeta(t, dir, func(m map[string]any) { m["position"].(map[string]any)["epoch"] = -1 })
		}, "epoch -1 is outside this run's 3 epochs"},
		{"epoch past the run", func(t *testing.T, dir string, _ *Config) {
			editMeta(t, dir, func(m map[string]any) { m["position"].(map[string]any)["epoch"] = 7 })
		}, "epoch 7 is outside this run's 3 epochs"},
		{"steps that do not fit", func(t *testing.T, dir string, _ *Config) {
			editMeta(t, dir, func(m map[string]any) { m["position"].(map[string]any)["step"] = 2 })
		}, "2 steps done do not fit epoch 1, batch 2 of 6 batches"},
		{"batch out of range", func(t *testing.T, dir string, _ *Config) {
			editMeta(t, dir, func(m map[string]any) { m["position"].(map[string]any)["batch"] = 99 })
		}, "batch 99 is outside an epoch's 6 batches"},
		{"step count", func(t *testing.T, dir string, _ *Config) {
			editCheckpoint(t, dir, func(a map[string]npz.Array) {
				a["steps/fc1.bias"] = npz.Array{Shape: []int{1}, Data: []int64{-5}}
			})
		}, `parameter "fc1.bias": step count [-5], want 8`},
		{"other optimizer", func(t *testing.T, _ string, c *Config) { c.Optimizer = Adam },
			"saved with optimizer sgd, this run uses adam"},
		{"other learning rate", func(t *testing.T, _ string, c *Config) { c.Defaults.LR = 0.01 },
			`group "default": lr is 0.05 there, 0.01 here`},
		{"other momentum in a group", func(t *testing.T, _ string, c *Config) {
			c.Groups = []GroupSpec{{Pattern: "fc2.*", Set: map[string]float64{"lr": 0.1, "momentum": 0.5}}}
		}, `group "fc2.*": momentum is 0.9 there, 0.5 here`},
		{"other groups", func(t *testing.T, _ string, c *Config) {
			c.Groups = []GroupSpec{{Pattern: "fc*", Set: map[string]float64{"lr": 0.1}}}
		}, `group 1 is "fc2.*" there, "fc*" here`},
		{"other members", func(t *testing.T, _ string, c *Config) { c.Freeze = []string{"bn.*"} },
			`group "default": parameter 2 is "bn.weight" there, nothing here`},
		{"other seed", func(t *testing.T, _ string, c *Config) { c.Seed = 4 }, "seed is 3 there, 4 here"},
		{"other schedule", func(t *testing.T, _ string, c *Config) { c.Schedule = Schedule{Kind: "step", StepEvery: 1, Gamma: 0.5} },
			"schedule is constant there, step:1:0.5 here"},
		{"cosine over other epochs", func(t *testing.T, dir string, c *Config) {
			editMeta(t, dir, func(m map[string]any) {
				m["settings"].(map[string]any)["schedule"] = "cosine"
				m["settings"].(map[string]any)["schedule_length"] = "18"
			})
			c.Schedule, c.Epochs = Schedule{Kind: "cosine"}, 5
		}, "schedule_length is 18 there, 30 here"},
		{"other unit", func(t *testing.T, _ string, c *Config) { c.Schedule.Unit = UnitEpoch }, "schedule_unit is step there, epoch here"},
		{"other warmup", func(t *testing.T, _ string, c *Config) { c.Schedule.Warmup = 2 }, "warmup is 0 there, 2 here"},
		{"warmup ratio", func(t *testing.T, _ string, c *Config) { c.Schedule.WarmupRatio = 0.1 }, "schedule_length is any there, 18 here"},
		{"other order", func(t *testing.T, _ string, c *Config) { c.Shuffle = true }, "shuffle is false there, true here"},
		{"other loss", func(t *testing.T, _ string, c *Config) { c.Loss = MSE }, "loss is cross-entropy there, mse here"},
		{"other label smoothing", func(t *testing.T, _ string, c *Config) { c.Smoothing = 0.1 },
			"label_smoothing is 0 there, 0.1 here"},
		{"extra setting", func(t *testing.T, dir string, _ *Config) {
			editMeta(t, dir, func(m map[string]any) { m["settings"].(map[string]any)["momentum_decay"] = "1" })
		}, `setting "momentum_decay" is not one this run has`},
		{"missing setting", func(t *testing.T, dir string, _ *Config) {
			editMeta(t, dir, func(m map[string]any) { delete(m["settings"].(map[string]any), "seed") })
		}, `setting "seed" is missing`},
		{"extra hyperparameter", func(t *testing.T, dir string, _ *Config) {
			editMeta(t, dir, func(m map[string]any) {
				m["groups"].([]any)[0].(map[string]any)["hyper"].(map[string]any)["beta1"] = 0.5
			})
		}, `group "default": beta1 is not a setting of sgd`},
		{"missing hyperparameter", func(t *testing.T, dir string, _ *Config) {
			editMeta(t, dir, func(m map[string]any) {
				delete(m["groups"].([]any)[0].(map[string]any)["hyper"].(map[string]any), "nesterov")
			})
		}, `group "default": nesterov is missing`},
		{"unknown field", func(t *testing.T, dir string, _ *Config) {
			editMeta(t, dir, func(m map[string]any) { m["extra"] = 1 })
		}, `settings: json: unknown field "extra"`},
		{"other batch size", func(t *testing.T, _ string, _ *Config) {}, "saved with 6 batches per epoch, this run has 11"},
		{"other shape", func(t *testing.T, dir string, _ *Config) {
			editCheckpoint(t, dir, func(a map[string]npz.Array) {
				w := a["w/fc1.weight"]
				a["w/fc1.weight"] = npz.Array{Shape: []int{20, 32}, Data: w.Data}
			})
		}, `parameter "fc1.weight": float32 [20 32] there, float32 [32 20] in the model`},
		{"extra entry", func(t *testing.T, dir string, _ *Config) {
			editCheckpoint(t, dir, func(a map[string]npz.Array) {
				a["opt/fc1.weight/exp_avg"] = npz.Array{Shape: []int{1}, Data: []float32{1}}
			})
		}, `entry "opt/fc1.weight/exp_avg" is not one this run has`},
		{"bad random state", func(t *testing.T, dir string, _ *Config) {
			editCheckpoint(t, dir, func(a map[string]npz.Array) { a["rng"] = npz.Array{Shape: []int{2}, Data: []uint8{1, 2}} })
		}, "random state"},
		{"no settings", func(t *testing.T, dir string, _ *Config) {
			editCheckpoint(t, dir, func(a map[string]npz.Array) { delete(a, "meta") })
		}, "no settings"},
		{"too large", func(t *testing.T, dir string, _ *Config) {
			editCheckpoint(t, dir, func(a map[string]npz.Array) {
				a["pad"] = npz.Array{Shape: []int{1 << 20}, Data: make([]float32, 1<<20)}
			})
		}, "more than a checkpoint of this model holds"},
		{"not an archive", func(t *testing.T, dir string, _ *Config) {
			if err := os.WriteFile(filepath.Join(dir, checkpointFile), []byte("hello"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "not a valid .npz (zip) archive"},
		{"a FIFO", func(t *testing.T, dir string, _ *Config) {
			p := filepath.Join(dir, checkpointFile)
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := interrupted(t, src, base)
			cfg := base
			cfg.Checkpoint, cfg.Resume = dir, true
			tc.edit(t, dir, &cfg)
			run := src
			if tc.name == "other batch size" {
				run = newMLPSource(44, 4)
			}
			m := mlpDropout(t)
			before := weightsOf(t, m)
			_, err := runNoPanic(t, m, run, cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), checkpointFile) {
				t.Errorf("error %q, want it to name the checkpoint and say %q", err, tc.want)
			}
			after := weightsOf(t, m)
			for name, w := range before {
				if after[name][0] != w[0] {
					t.Errorf("%s changed by a refused checkpoint", name)
				}
			}
		})
	}
}

// TestEffectiveDataSettings: the "data" setting of an earlier checkpoint,
// which wrote a crop's default ratio range as 0,0, reads as this version
// writes it.
func TestEffectiveDataSettings(t *testing.T) {
	now := (&data.Augment{Scale: [2]float64{0.5, 1}, HFlip: 0.5, Seed: 3}).String() + " preprocess={}"
	old := "scale=0.5,1 ratio=0,0 hflip=0.5 color_jitter=0 seed=3 preprocess={}"
	if got := effectiveDataSettings(old); got != now {
		t.Errorf("earlier setting reads %q, want %q", got, now)
	}
	for _, v := range []string{now, "scale=0,0 ratio=0,0 hflip=0.5 color_jitter=0 seed=3", `preprocess={"size":[7,7]}`} {
		if got := effectiveDataSettings(v); got != v {
			t.Errorf("%q reads %q", v, got)
		}
	}
}
