package train

import (
	"errors"
	"github.com/onnxtune/onnxtune/graph"
	"math"
	"strings"
	"testing"
)

// TestHandBuiltTrainerChecksGroups: a Trainer built by hand (Assign, then
// NewTrainer) refuses what Run's Config.Validate refuses in the groups: an
// unknown key (a typo such as "lrr" was dropped without a word and the
// group trained at the default rate), a bad pattern (reported as matching
// nothing), and a value torch.optim refuses (a NaN rate was taken).
func TestHandBuiltTrainerChecksGroups(t *testing.T) {
	m := lenet10(t)
	opt, _ := NewOptimizer(SGD)
	def := Hyper{LR: 0.01, Momentum: 0.9}
	for _, tc := range []struct {
		name string
		spec GroupSpec
		want string
	}{
		{"unknown key", GroupSpec{Pattern: "fc3.*", Set: map[string]float64{"lrr": 0.1}}, `unknown setting "lrr"`},
		{"bad pattern", GroupSpec{Pattern: "fc3[", Set: map[string]float64{"lr": 0.1}}, "bad pattern"},
		{"NaN rate", GroupSpec{Pattern: "fc3.*", Set: map[string]float64{"lr": math.NaN()}}, "Invalid learning rate: nan"},
		{"negative rate", GroupSpec{Pattern: "fc3.*", Set: map[string]float64{"lr": -1}}, "Invalid learning rate: -1.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Assign(m.Params, []GroupSpec{tc.spec}, def, nil)
			if err == nil {
				_, err = NewTrainer(m, CrossEntropy, opt, a)
			}
			var se *SettingError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a *SettingError saying %q", err, tc.want)
			}
		})
	}
	a, err := Assign(m.Params, nil, Hyper{LR: math.Inf(1)}, nil)
	if err == nil {
		_, err = NewTrainer(m, CrossEntropy, opt, a)
	}
	if !errors.As(err, new(*SettingError)) {
		t.Errorf("infinite default rate: error %v, want a *SettingError", err)
	}
}

// TestAssignNilParam: a nil parameter in a hand-built list is an error
// naming its place, not a nil-pointer panic.
func TestAssignNilParam(t *testing.T) {
	m := lenet10(t)
	params := append(append([]*graph.Param(nil), m.Params[:2]...), nil)
	if _, err := Assign(params, nil, Hyper{LR: 0.01}, nil); err == nil || !strings.Contains(err.Error(), "parameter 2 of 3 is nil") {
		t.Fatalf("error %v, want one naming the nil parameter", err)
	}
}

// TestAssignDuplicateParam: a parameter listed twice in a hand-built list
// is an error naming both places; Assign put it twice in its group
// (counting its elements twice), which NewTrainer then refused.
func TestAssignDuplicateParam(t *testing.T) {
	m := lenet10(t)
	params := append(append([]*graph.Param(nil), m.Params...), m.Params[0])
	want := `train: parameter "` + m.Params[0].Name + `" is listed twice (0 and 10 of 11)`
	if _, err := Assign(params, nil, Hyper{LR: 0.01}, nil); err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
}
