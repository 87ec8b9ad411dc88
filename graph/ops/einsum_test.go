package ops

import (
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

func TestEinsum(t *testing.T) {
	cases := []struct {
		eq     string
		shapes [][]int
	}{
		{"bhid,bhjd->bhij", [][]int{{2, 2, 3, 4}, {2, 2, 5, 4}}}, // attention scores
		{"bhij,bhjd->bhid", [][]int{{2, 2, 3, 5}, {2, 2, 5, 4}}}, // attention values
		{"bij,bjk->bik", [][]int{{2, 3, 4}, {2, 4, 5}}},
		{"ij,jk", [][]int{{3, 4}, {4, 2}}}, // implicit output
		{"ij->ji", [][]int{{3, 4}}},
		{"ii->i", [][]int{{4, 4}}}, // diagonal
		{"ii", [][]int{{4, 4}}},    // trace
		{"bii->bi", [][]int{{2, 3, 3}}},
		{"ij->", [][]int{{3, 4}}},
		{"i,i", [][]int{{5}, {5}}},
		{"i,j->ij", [][]int{{3}, {4}}},
		{"...ij,...jk->...ik", [][]int{{2, 3, 4}, {1, 4, 5}}}, // broadcast batch
		{"...ii->...i", [][]int{{2, 3, 3}}},
		{"bn,anm,bm->ba", [][]int{{2, 3}, {4, 3, 5}, {2, 5}}}, // bilinear, three operands
		{"ij,ij->i", [][]int{{3, 4}, {1, 4}}},                 // a dimension of 1 broadcast
		{"abc,cd->abd", [][]int{{2, 3, 4}, {4, 3}}},
		{"ijk->kj", [][]int{{2, 3, 4}}},
	}
	for i, cs := range cases {
		t.Run(cs.eq, func(t *testing.T) {
			attrs := []*graph.Attribute{{Name: "equation", Type: graph.AttrString, S: []byte(cs.eq)}}
			var a32, a64 []arg
			for k, s := range cs.shapes {
				x := randF64(int64(10*i+k), -1, 1, s...)
				name := string(rune('a' + k))
				a32 = append(a32, arg{Name: name, Value: f32(x)})
				a64 = append(a64, arg{Name: name, Value: x})
			}
			ortCheck(t, "Einsum", 12, attrs, []graph.DType{graph.Float32}, a32...)
			gradCheck(t, "Einsum", 12, attrs, a64...)
		})
	}
	for _, eq := range []string{"ij,jk->ik,", "ij,jk->iz", "ij,jk->ii", "i.j->ij", "ijk->ij"} {
		attrs := []*graph.Attribute{{Name: "equation", Type: graph.AttrString, S: []byte(eq)}}
		m, shapes := oneNode("Einsum", 12, attrs, 1, arg{Name: "a", Value: randF64(1, 0, 1, 3, 4)}, arg{Name: "b", Value: randF64(1, 0, 1, 4, 5)})
		if _, err := Compile(m, shapes, Options{}); err == nil {
			t.Errorf("%q: no error", eq)
		}
	}
}
