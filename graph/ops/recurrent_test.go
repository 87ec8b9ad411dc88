package ops

import (
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

func attrStrings(name string, v ...string) *graph.Attribute {
	a := &graph.Attribute{Name: name, Type: graph.AttrStrings}
	for _, s := range v {
		a.Strings = append(a.Strings, []byte(s))
	}
	return a
}

// rnnCase is a recurrent node to check: its attributes and inputs.
type rnnCase struct {
	name   string
	op     string
	opset  int64
	dirs   int
	T, B   int
	I, H   int
	layout int
	seq    []int32 // sequence_lens, nil for none
	states bool    // initial_h (and initial_c)
	peep   bool
	bias   bool
	attrs  []*graph.Attribute
}

func (c rnnCase) gates() int {
	return map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}[c.op]
}

// args builds the node's inputs in float64 from fixed seeds; X, W, R, B
// and the states are graph inputs, so the check differentiates them.
func (c rnnCase) args() []arg {
	gh := c.gates() * c.H
	x := randF64(1, -1, 1, c.T, c.B, c.I)
	hs := []int{c.dirs, c.B, c.H}
	if c.layout == 1 {
		x = randF64(1, -1, 1, c.B, c.T, c.I)
		hs = []int{c.B, c.dirs, c.H}
	}
	args := []arg{{Name: "X", Value: x}, {Name: "W", Value: randF64(2, -0.7, 0.7, c.dirs, gh, c.I)},
		{Name: "R", Value: randF64(3, -0.7, 0.7, c.dirs, gh, c.H)}}
	opt := []arg{{}, {}, {}, {}, {}}
	last := -1
	if c.bias {
		opt[0], last = arg{Name: "B", Value: randF64(4, -0.5, 0.5, c.dirs, 2*gh)}, 0
	}
	if c.seq != nil {
		opt[1], last = arg{Name: "seq", Value: Dense([]int{c.B}, append([]int32(nil), c.seq...)), Const: true}, 1
	}
	if c.states {
		opt[2], last = arg{Name: "h0", Value: randF64(5, -0.5, 0.5, hs...)}, 2
		if c.op == "LSTM" {
			opt[3], last = arg{Name: "c0", Value: randF64(6, -0.5, 0.5, hs...)}, 3
		}
	}
	if c.peep {
		opt[4], last = arg{Name: "P", Value: randF64(7, -0.5, 0.5, c.dirs, 3*c.H)}, 4
	}
	return append(args, opt[:last+1]...)
}

func (c rnnCase) allAttrs() []*graph.Attribute {
	a := []*graph.Attribute{attrInt("hidden_size", int64(c.H))}
	if c.dirs == 2 {
		a = append(a, attrString("direction", "bidirectional"))
	}
	if c.layout != 0 {
		a = append(a, attrInt("layout", int64(c.layout)))
	}
	return append(a, c.attrs...)
}

func (c rnnCase) nOut() int {
	if c.op == "LSTM" {
		return 3
	}
	return 2
}

var rnnCases = []rnnCase{
	{name: "rnn", op: "RNN", opset: 14, dirs: 1, T: 4, B: 2, I: 3, H: 3, bias: true},
	{name: "rnn_relu_bidi_states", op: "RNN", opset: 14, dirs: 2, T: 3, B: 2, I: 2, H: 3, bias: true, states: true,
		attrs: []*graph.Attribute{attrStrings("activations", "Relu", "Relu")}},
	{name: "rnn_reverse_seq", op: "RNN", opset: 14, dirs: 1, T: 4, B: 3, I: 2, H: 2, bias: true, seq: []int32{4, 2, 3},
		attrs: []*graph.Attribute{attrString("direction", "reverse")}},
	{name: "gru_lbr", op: "GRU", opset: 14, dirs: 1, T: 3, B: 2, I: 3, H: 2, bias: true, states: true,
		attrs: []*graph.Attribute{attrInt("linear_before_reset", 1)}},
	{name: "gru", op: "GRU", opset: 14, dirs: 1, T: 3, B: 2, I: 3, H: 2, bias: true, states: true},
	{name: "gru_bidi_lbr_seq_layout1", op: "GRU", opset: 14, dirs: 2, T: 4, B: 3, I: 2, H: 3, bias: true, layout: 1,
		seq: []int32{4, 1, 3}, states: true, attrs: []*graph.Attribute{attrInt("linear_before_reset", 1)}},
	{name: "gru_bidi_seq", op: "GRU", opset: 7, dirs: 2, T: 4, B: 3, I: 2, H: 2, bias: true, seq: []int32{2, 4, 3}},
	{name: "lstm", op: "LSTM", opset: 14, dirs: 1, T: 4, B: 2, I: 3, H: 3, bias: true},
	{name: "lstm_nobias", op: "LSTM", opset: 14, dirs: 1, T: 2, B: 2, I: 2, H: 2},
	{name: "lstm_bidi_states_seq", op: "LSTM", opset: 14, dirs: 2, T: 4, B: 3, I: 3, H: 2, bias: true, states: true,
		seq: []int32{3, 4, 1}},
	{name: "lstm_layout1_peep_clip", op: "LSTM", opset: 14, dirs: 2, T: 3, B: 2, I: 2, H: 2, bias: true, states: true,
		layout: 1, peep: true, attrs: []*graph.Attribute{attrFloat("clip", 0.9)}},
	{name: "lstm_reverse", op: "LSTM", opset: 14, dirs: 1, T: 3, B: 2, I: 2, H: 2, bias: true, states: true,
		attrs: []*graph.Attribute{attrString("direction", "reverse")}},
}

// TestRecurrentGradients checks the gradients of X, W, R, B, the initial
// states and P, through every output at once (Y, Y_h, Y_c each weighted),
// against central finite differences in float64.
func TestRecurrentGradients(t *testing.T) {
	for _, c := range rnnCases {
		t.Run(c.name, func(t *testing.T) {
			gradCheckAll(t, c.op, c.opset, c.allAttrs(), c.nOut(), c.args()...)
		})
	}
}

// gradCheckAll is gradCheck over all nOut outputs, at 1e-6 relative.
func gradCheckAll(t *testing.T, op string, opset int64, attrs []*graph.Attribute, nOut int, args ...arg) {
	t.Helper()
	gradCheckOutputs(t, op, opset, attrs, nOut, 1e-6, args...)
}
