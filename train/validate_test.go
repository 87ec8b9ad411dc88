package train

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/internal/testmodels"
)

// TestValidate: settings PyTorch 1.13 refuses are refused with torch's own
// message (torch.optim's constructors, nn.CrossEntropyLoss, LinearLR), as
// are NaN and infinities, which PyTorch lets through; Run refuses them
// before any work.
func TestValidate(t *testing.T) {
	ok := Config{Epochs: 1, Optimizer: SGD, Defaults: Hyper{LR: 0.01, Momentum: 0.9}, Loss: CrossEntropy}
	adam := ok
	adam.Optimizer = Adam
	adam.Defaults = Hyper{LR: 0.001, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		name string
		cfg  Config
		edit func(c *Config)
		want string
	}{
		{"sgd lr", ok, func(c *Config) { c.Defaults.LR = -1 }, "Invalid learning rate: -1.0"},
		{"sgd lr nan", ok, func(c *Config) { c.Defaults.LR = nan }, "Invalid learning rate: nan"},
		{"sgd lr inf", ok, func(c *Config) { c.Defaults.LR = inf }, "Invalid learning rate: inf"},
		{"sgd momentum", ok, func(c *Config) { c.Defaults.Momentum = -1 }, "Invalid momentum value: -1.0"},
		{"sgd weight decay", ok, func(c *Config) { c.Defaults.WeightDecay = -0.0001 }, "Invalid weight_decay value: -0.0001"},
		{"sgd weight decay small", ok, func(c *Config) { c.Defaults.WeightDecay = -1e-5 }, "Invalid weight_decay value: -1e-05"},
		{"sgd dampening nan", ok, func(c *Config) { c.Defaults.Dampening = nan }, "Invalid dampening value: nan"},
		{"sgd nesterov dampening", ok, func(c *Config) { c.Defaults.Nesterov, c.Defaults.Dampening = true, 0.1 },
			"Nesterov momentum requires a momentum and zero dampening"},
		{"sgd nesterov no momentum", ok, func(c *Config) { c.Defaults.Nesterov, c.Defaults.Momentum = true, 0 },
			"Nesterov momentum requires a momentum and zero dampening"},
		{"adam lr", adam, func(c *Config) { c.Defaults.LR = -1 }, "Invalid learning rate: -1.0"},
		{"adam eps", adam, func(c *Config) { c.Defaults.Eps = -1 }, "Invalid epsilon value: -1.0"},
		{"adam beta1", adam, func(c *Config) { c.Defaults.Beta1 = 1.5 }, "Invalid beta parameter at index 0: 1.5"},
		{"adam beta1 one", adam, func(c *Config) { c.Defaults.Beta1 = 1 }, "Invalid beta parameter at index 0: 1.0"},
		{"adam beta2", adam, func(c *Config) { c.Defaults.Beta2 = -0.5 }, "Invalid beta parameter at index 1: -0.5"},
		{"adam beta2 nan", adam, func(c *Config) { c.Defaults.Beta2 = nan }, "Invalid beta parameter at index 1: nan"},
		{"adamw weight decay", adam, func(c *Config) { c.Optimizer, c.Defaults.WeightDecay = AdamW, -1 }, "Invalid weight_decay value: -1.0"},
		{"group lr", ok, func(c *Config) { c.Groups = []GroupSpec{{Pattern: "fc3.*", Set: map[string]float64{"lr": -2}}} },
			`group "fc3.*": Invalid learning rate: -2.0`},
		{"group beta1", adam, func(c *Config) { c.Groups = []GroupSpec{{Pattern: "fc3.*", Set: map[string]float64{"beta1": inf}}} },
			`group "fc3.*": Invalid beta parameter at index 0: inf`},
		{"group key", ok, func(c *Config) { c.Groups = []GroupSpec{{Pattern: "fc3.*", Set: map[string]float64{"rate": 1}}} },
			`group "fc3.*": unknown setting "rate"`},
		// A group setting the optimizer does not read would be dropped
		// without a word: refused, as torch.optim refuses an unknown
		// keyword argument.
		{"group beta1 under sgd", ok, func(c *Config) { c.Groups = []GroupSpec{{Pattern: "fc3.*", Set: map[string]float64{"beta1": 0.5}}} },
			`group "fc3.*": beta1 is not a setting of sgd (it reads lr, momentum, dampening, weight_decay, nesterov)`},
		{"group momentum under adam", adam, func(c *Config) {
			c.Groups = []GroupSpec{{Pattern: "fc3.*", Set: map[string]float64{"lr": 0.01, "momentum": 0.5}}}
		}, `group "fc3.*": momentum is not a setting of adam (it reads lr, eps, beta1, beta2, weight_decay)`},
		{"group nesterov under adamw", adam, func(c *Config) {
			c.Optimizer = AdamW
			c.Groups = []GroupSpec{{Pattern: "fc3.*", Set: map[string]float64{"nesterov": 1}}}
		}, `group "fc3.*": nesterov is not a setting of adamw`},
		{"label smoothing", ok, func(c *Config) { c.Smoothing = 2 }, "label_smoothing must be between 0.0 and 1.0. Got: 2"},
		{"label smoothing nan", ok, func(c *Config) { c.Smoothing = nan }, "label_smoothing must be between 0.0 and 1.0. Got: nan"},
		{"optimizer", ok, func(c *Config) { c.Optimizer = "rmsprop" }, `unknown optimizer "rmsprop"`},
		{"loss", ok, func(c *Config) { c.Loss = "hinge" }, `unknown loss "hinge"`},
		{"epochs", ok, func(c *Config) { c.Epochs = -1 }, "epochs -1: want 1 or more"},
		{"steps", ok, func(c *Config) { c.Steps = -3 }, "steps -3: want 0 or more"},
		{"negative epochs with steps", ok, func(c *Config) { c.Epochs, c.Steps = -1, 2 }, "epochs -1: want 1 or more (or steps)"},
		{"warmup", ok, func(c *Config) { c.Schedule.Warmup = -1 }, "warmup -1: want 0 or more steps"},
		{"warmup start", ok, func(c *Config) { c.Schedule.Warmup, c.Schedule.WarmupFrom = 5, 1.5 },
			"Starting multiplicative factor expected to be greater than 0 and less or equal to 1."},
		{"step gamma", ok, func(c *Config) { c.Schedule = Schedule{Kind: "step", StepEvery: 1, Gamma: nan} }, "schedule step:1:nan: want"},
		{"step every", ok, func(c *Config) { c.Schedule = Schedule{Kind: "step", StepEvery: 0, Gamma: 0.1} }, "schedule step:0:0.1: want"},
		{"freeze pattern", ok, func(c *Config) { c.Freeze = []string{"[x"} }, `--freeze "[x": bad pattern`},
	}
	x, y := testmodels.MNISTTest(t, 4)
	src := &memSource{x: x, y: y, bs: 4}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			tc.edit(&cfg)
			err := cfg.Validate()
			var se *SettingError
			if !errors.As(err, &se) {
				t.Fatalf("Validate: %v, want a *SettingError", err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Validate: %q, want %q", err, tc.want)
			}
			m := lenet10(t)
			before := weightsOf(t, m)
			if _, err := Run(context.Background(), m, src, nil, cfg); !errors.As(err, &se) || err.Error() != se.Error() {
				t.Errorf("Run: %v, want the *SettingError", err)
			}
			if w := weightsOf(t, m)["fc3.weight"]; w[0] != before["fc3.weight"][0] {
				t.Error("Run trained with a refused setting")
			}
		})
	}
	for _, c := range []Config{ok, adam} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", c.Optimizer, err)
		}
	}
}

// TestParseRefusals: --group and --schedule strings that cannot be used
// are *SettingError.
func TestParseRefusals(t *testing.T) {
	for _, s := range []string{"fc3.*", ":lr=1", "[x:lr=1", "fc3.*:lr=abc", "fc3.*:rate=1",
		"fc3.*:lr=1e-2,lr=2", "fc3.*:nesterov=0.5", "fc3.*:nesterov=1,nesterov=true"} {
		_, err := ParseGroup(s)
		var se *SettingError
		if !errors.As(err, &se) {
			t.Errorf("ParseGroup(%q): %v, want a *SettingError", s, err)
		}
	}
	// Switches take 0, 1, true and false.
	for _, s := range []string{"fc3.*:nesterov=1", "fc3.*:nesterov=0", "fc3.*:nesterov=true", "fc3.*:nesterov=false"} {
		if _, err := ParseGroup(s); err != nil {
			t.Errorf("ParseGroup(%q): %v", s, err)
		}
	}
	for _, s := range []string{"linear:2", "cos", "step:0:0.1", "step:2:-1", "step:2:NaN", "step:2:Inf", "step:2"} {
		_, err := ParseSchedule(s)
		var se *SettingError
		if !errors.As(err, &se) {
			t.Errorf("ParseSchedule(%q): %v, want a *SettingError", s, err)
		}
	}
}

// TestPyFloat: floats in messages read as Python's repr.
func TestPyFloat(t *testing.T) {
	for v, want := range map[float64]string{-1: "-1.0", 1.5: "1.5", 1e-8: "1e-08", 0.0001: "0.0001", 1e16: "1e+16",
		1e15: "1000000000000000.0", 0: "0.0", -2.5e-7: "-2.5e-07"} {
		if got := pyFloat(v); got != want {
			t.Errorf("pyFloat(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestNonFiniteWeightsRefused: a learning rate that is finite as a float64
// but not as float32 turns the weights infinite in one step, which the
// loss of that step does not show: Run fails naming a parameter.
func TestNonFiniteWeightsRefused(t *testing.T) {
	x, y := testmodels.MNISTTest(t, 16)
	src := &memSource{x: x, y: y, bs: 16}
	cfg := Config{Steps: 1, Optimizer: SGD, Defaults: Hyper{LR: 1e39}, Loss: CrossEntropy}
	_, err := Run(context.Background(), lenet10(t), src, nil, cfg)
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.Contains(err.Error(), `parameter "`) || !strings.Contains(err.Error(), "after step 1") {
		t.Errorf("error %q does not name the parameter and step", err)
	}
}

// TestNothingToTrain: a run that would train no parameter (everything
// frozen) is refused with PyTorch's message, as torch.optim refuses an
// empty parameter list, before any step.
func TestNothingToTrain(t *testing.T) {
	x, y := testmodels.MNISTTest(t, 16)
	src := &memSource{x: x, y: y, bs: 16}
	for _, freeze := range [][]string{{"*"}, {"conv*", "fc*"}} {
		t.Run(strings.Join(freeze, ","), func(t *testing.T) {
			cfg := Config{Steps: 1, Optimizer: SGD, Defaults: Hyper{LR: 0.1}, Loss: CrossEntropy, Freeze: freeze}
			_, err := Run(context.Background(), lenet10(t), src, nil, cfg)
			var se *SettingError
			if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), "optimizer got an empty parameter list") {
				t.Errorf("error %v, want a *SettingError with PyTorch's message", err)
			}
		})
	}
}
