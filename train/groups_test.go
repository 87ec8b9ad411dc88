package train

import (
	"errors"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

// TestAssignOverlaps: a parameter two --group patterns match goes to the
// first, and the group lists it as an overlap naming the later pattern.
func TestAssignOverlaps(t *testing.T) {
	params := []*graph.Param{
		{Name: "conv.weight", Role: graph.RoleWeight, DType: graph.Float32, Shape: []int64{2, 3}},
		{Name: "fc.weight", Role: graph.RoleWeight, DType: graph.Float32, Shape: []int64{4, 2}},
		{Name: "fc.bias", Role: graph.RoleBias, DType: graph.Float32, Shape: []int64{4}},
	}
	a, err := Assign(params, []GroupSpec{{Pattern: "fc.*"}, {Pattern: "*.weight"}}, Hyper{LR: 0.1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fc := a.GroupOf("fc.weight")
	if fc == nil || fc.Name != "fc.*" {
		t.Fatalf("fc.weight in %+v, want fc.*", fc)
	}
	if got := strings.Join(fc.Overlaps, "; "); got != "fc.weight (also *.weight)" {
		t.Errorf("overlaps %q", got)
	}
	if g := a.GroupOf("conv.weight"); g == nil || g.Name != "*.weight" || len(g.Overlaps) != 0 {
		t.Errorf("conv.weight in %+v", g)
	}
}

// TestAssignNoParameters: a model without trainable parameters is the
// model's matter, not a setting's (the CLI exits 1, not 2); --freeze that
// takes every parameter is a setting's.
func TestAssignNoParameters(t *testing.T) {
	_, err := Assign(nil, nil, Hyper{LR: 0.1}, nil)
	var se *SettingError
	if err == nil || errors.As(err, &se) {
		t.Errorf("no parameters: %v, want an error that is not a *SettingError", err)
	}
	p := []*graph.Param{{Name: "w", Role: graph.RoleWeight, DType: graph.Float32, Shape: []int64{2}}}
	if _, err := Assign(p, nil, Hyper{LR: 0.1}, []string{"*"}); !errors.As(err, &se) {
		t.Errorf("all frozen: %v, want a *SettingError", err)
	}
}
