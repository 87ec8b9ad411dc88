package importer_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"

	onnx "github.com/owulveryck/onnx-go"
	gonum "gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/simple"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/testmodels"
)

// TestOnnxGoOracle decodes every sample model and every ONNX conformance
// model with github.com/owulveryck/onnx-go, a decoder written independently
// of ours on its own protobuf bindings, and checks that both see the same
// model: graph input and output names and types, the set of value names,
// initializer names, dtypes, shapes and values, and for each node its op
// type, outputs, attributes and inputs.
//
// onnx-go's own backend/simple cannot serve: its nodes have ApplyTensor where
// onnx.DataCarrier wants SetTensor/GetTensor, so no tensor ever reaches them,
// and its ApplyOperation drops the operation. oracleGraph below is a backend
// that keeps both. With it no op is refused, but onnx-go refuses some models
// (graph and tensor-list attributes; float16, bfloat16, float8 and 2/4-bit
// types; values of no tensor type; bool tensors in raw_data, which it reads
// as 8 bytes an element; graphs without nodes): those are counted and
// logged, and compared no further. LeNet must decode,
// so the test cannot pass by refusing everything.
func TestOnnxGoOracle(t *testing.T) {
	type oracleCase struct {
		name, path string
		required   bool // onnx-go must decode it
	}
	var cases []oracleCase
	for _, e := range testmodels.Samples(t) {
		cases = append(cases, oracleCase{"models/" + e.Name(), e.Path(), e.File == "lenet.onnx"})
	}
	dir := filepath.Join("..", "..", "shared", "onnx-node-tests")
	conf, _ := filepath.Glob(filepath.Join(dir, "test_*", "model.onnx"))
	for _, p := range conf {
		cases = append(cases, oracleCase{"node/" + filepath.Base(filepath.Dir(p)), p, false})
	}
	if len(conf) == 0 {
		t.Logf("no ONNX conformance cases at %s (they sit beside the repository in CI): comparing the sample models only", dir)
	}

	decoded, required := 0, 0
	var nodes, inits, attrs int        // compared
	refused := make(map[string]string) // case -> onnx-go's error
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := os.ReadFile(c.path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := importer.Load(c.path)
			if err != nil {
				t.Fatalf("importer: %v", err)
			}
			og, om, err := onnxGoDecode(b)
			if err != nil {
				refused[c.name] = err.Error()
				if c.required {
					t.Fatalf("onnx-go refused a model it must decode: %v", err)
				}
				return
			}
			decoded++
			nodes += len(m.Graph.Nodes)
			inits += len(m.Graph.Initializers)
			for _, n := range m.Graph.Nodes {
				attrs += len(n.Attrs)
			}
			if c.required {
				required++
			}
			for _, d := range compareOnnxGo(m.Graph, og, om) {
				t.Errorf("onnx-go and the importer disagree: %s", d)
			}
		})
	}
	if required == 0 {
		t.Errorf("onnx-go decoded none of the required models (models/lenet.onnx): the comparison is vacuous")
	}
	t.Logf("onnx-go decoded %d of %d models and refused %d; compared %d nodes, %d attributes, %d initializers",
		decoded, len(cases), len(refused), nodes, attrs, inits)
	for _, name := range sortedKeys(refused) {
		t.Logf("onnx-go refused %s: %.200s", name, refused[name])
	}
}

// TestOnnxGoOracleDetects makes sure the comparison can fail: each case
// changes what the importer read of LeNet the way a decoding bug would, and
// the comparison with onnx-go must notice.
func TestOnnxGoOracleDetects(t *testing.T) {
	const path = "../models/lenet.onnx"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	og, om, err := onnxGoDecode(b)
	if err != nil {
		t.Fatalf("onnx-go: %v", err)
	}
	firstConv := func(g *graph.Graph) *graph.Node {
		for _, n := range g.Nodes {
			if n.OpType == "Conv" {
				return n
			}
		}
		t.Fatal("LeNet has no Conv")
		return nil
	}
	cases := []struct {
		name   string
		mutate func(g *graph.Graph)
	}{
		{"initializer value", func(g *graph.Graph) { g.Initializers[0].Raw[0] ^= 1 }},
		{"initializer shape", func(g *graph.Graph) { slices.Reverse(g.Initializers[0].Dims) }},
		{"initializer dropped", func(g *graph.Graph) { g.Initializers = g.Initializers[1:] }},
		{"op type", func(g *graph.Graph) { firstConv(g).OpType = "ConvTranspose" }},
		{"input order", func(g *graph.Graph) { n := firstConv(g); n.Inputs[0], n.Inputs[1] = n.Inputs[1], n.Inputs[0] }},
		{"attribute value", func(g *graph.Graph) { firstConv(g).Attr("strides").Ints[0]++ }},
		{"attribute dropped", func(g *graph.Graph) { n := firstConv(g); n.Attrs = n.Attrs[1:] }},
		{"node dropped", func(g *graph.Graph) { g.Nodes = g.Nodes[:len(g.Nodes)-1] }},
		{"input name", func(g *graph.Graph) { g.Inputs[0].Name += "_" }},
		{"output dim", func(g *graph.Graph) { g.Outputs[0].Type.Shape.Dims[1].Value++ }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := importer.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if d := compareOnnxGo(m.Graph, og, om); len(d) != 0 {
				t.Fatalf("before the change: %q", d)
			}
			c.mutate(m.Graph)
			if d := compareOnnxGo(m.Graph, og, om); len(d) == 0 {
				t.Errorf("the comparison did not notice")
			} else {
				t.Logf("noticed: %s", d[0])
			}
		})
	}
}

// oracleGraph is an onnx.Backend that keeps what onnx-go's decoder hands
// it: named nodes carrying tensors, edges from each node output to the
// node's inputs weighted by input position, and the operations in file
// order.
type oracleGraph struct {
	*simple.WeightedDirectedGraph
	ops []oracleOp
}

type oracleOp struct {
	onnx.Operation
	outputs []string
}

type oracleNode struct {
	id   int64
	name string
	t    tensor.Tensor
}

var (
	_ onnx.Backend     = (*oracleGraph)(nil)
	_ onnx.Namer       = (*oracleNode)(nil)
	_ onnx.DataCarrier = (*oracleNode)(nil)
)

func (n *oracleNode) ID() int64                       { return n.id }
func (n *oracleNode) SetName(s string)                { n.name = s }
func (n *oracleNode) GetName() string                 { return n.name }
func (n *oracleNode) SetTensor(t tensor.Tensor) error { n.t = t; return nil }
func (n *oracleNode) GetTensor() tensor.Tensor        { return n.t }

func (g *oracleGraph) NewNode() gonum.Node {
	return &oracleNode{id: g.WeightedDirectedGraph.NewNode().ID()}
}

func (g *oracleGraph) ApplyOperation(op onnx.Operation, outs ...gonum.Node) error {
	o := oracleOp{Operation: op}
	for _, n := range outs {
		o.outputs = append(o.outputs, n.(*oracleNode).name)
	}
	g.ops = append(g.ops, o)
	return nil
}

// onnxGoDecode decodes b with onnx-go; a panic inside it counts as a refusal.
func onnxGoDecode(b []byte) (g *oracleGraph, m *onnx.Model, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	g = &oracleGraph{WeightedDirectedGraph: simple.NewWeightedDirectedGraph(math.MaxFloat64, -1)}
	m = onnx.NewModel(g)
	if err := m.UnmarshalBinary(b); err != nil {
		return nil, nil, err
	}
	return g, m, nil
}

// compareOnnxGo lists every way in which g and what onnx-go decoded differ.
func compareOnnxGo(g *graph.Graph, og *oracleGraph, om *onnx.Model) []string {
	var diffs []string
	errorf := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	inits := make(map[string]*graph.Tensor, len(g.Initializers))
	for _, x := range g.Initializers {
		inits[x.Name] = x
	}
	node := func(id int64) *oracleNode {
		n, _ := og.Node(id).(*oracleNode)
		return n
	}

	// Graph inputs (onnx-go drops those an initializer fills) and outputs.
	var wantIn, gotIn, wantOut, gotOut []string
	for _, v := range g.Inputs {
		if inits[v.Name] == nil {
			wantIn = append(wantIn, v.Name)
		}
	}
	for _, id := range om.Input {
		gotIn = append(gotIn, node(id).name)
	}
	for _, v := range g.Outputs {
		wantOut = append(wantOut, v.Name)
	}
	for _, id := range om.Output {
		gotOut = append(gotOut, node(id).name)
	}
	if !slices.Equal(wantIn, gotIn) {
		errorf("graph inputs: onnx-go %q, importer %q", gotIn, wantIn)
	}
	if !slices.Equal(wantOut, gotOut) {
		errorf("graph outputs: onnx-go %q, importer %q", gotOut, wantOut)
	}
	// Their declared types: onnx-go keeps the dtype and the dims that have
	// a value (symbolic ones are dropped).
	for _, list := range [][]*graph.ValueInfo{g.Inputs, g.Outputs} {
		for _, v := range list {
			dt, dims, ok := v.TensorShape()
			if !ok || inits[v.Name] != nil {
				continue
			}
			n, _ := om.GetNodeByName(v.Name)
			on, _ := n.(*oracleNode)
			if on == nil || on.t == nil {
				errorf("value %q: onnx-go holds no tensor for its type", v.Name)
				continue
			}
			var known []int
			for _, d := range dims {
				if d.HasValue {
					known = append(known, int(d.Value))
				}
			}
			if want, ok := tensorDtype(dt); !ok || on.t.Dtype() != want {
				errorf("value %q: dtype: onnx-go %v, importer %v", v.Name, on.t.Dtype(), dt)
			}
			if got := []int(on.t.Shape()); !slices.Equal(got, known) && !(len(known) == 0 && on.t.Shape().IsScalar()) {
				errorf("value %q: known dims: onnx-go %v, importer %v", v.Name, got, known)
			}
		}
	}

	// Every value name, and which of them carry a tensor.
	wantNames, wantTensors := make(map[string]bool), make(map[string]bool)
	for _, list := range [][]*graph.ValueInfo{g.Inputs, g.ValueInfo, g.Outputs} {
		for _, v := range list {
			wantNames[v.Name] = true
			if v.Type != nil {
				wantTensors[v.Name] = true
			}
		}
	}
	for name := range inits {
		wantNames[name], wantTensors[name] = true, true
	}
	for _, n := range g.Nodes {
		for _, s := range append(slices.Clone(n.Inputs), n.Outputs...) {
			wantNames[s] = true
		}
		if len(n.Inputs) == 0 && len(n.Outputs) > 0 {
			wantNames[n.Name+"/input"] = true // onnx-go's stand-in input
		}
	}
	gotNames, gotTensors := make(map[string]bool), make(map[string]bool)
	for it := og.Nodes(); it.Next(); {
		n := it.Node().(*oracleNode)
		gotNames[n.name] = true
		if n.t != nil {
			gotTensors[n.name] = true
		}
	}
	if d := setDiff(gotNames, wantNames); d != "" {
		errorf("value names: %s", d)
	}
	if d := setDiff(gotTensors, wantTensors); d != "" {
		errorf("values carrying a tensor (typed values and initializers): %s", d)
	}

	// Initializers: dtype, shape, values.
	for _, x := range g.Initializers {
		n, _ := om.GetNodeByName(x.Name)
		on, _ := n.(*oracleNode)
		if on == nil || on.t == nil {
			errorf("initializer %q: onnx-go has no tensor", x.Name)
			continue
		}
		if d := compareTensor(x, on.t); d != "" {
			errorf("initializer %q: %s", x.Name, d)
		}
	}

	// Nodes: op type, outputs, attributes, inputs.
	if len(og.ops) != len(g.Nodes) {
		errorf("nodes: onnx-go %d, importer %d", len(og.ops), len(g.Nodes))
		return diffs
	}
	for i, n := range g.Nodes {
		op := og.ops[i]
		if op.Name != n.OpType {
			errorf("node %d %s: op type: onnx-go %q, importer %q", i, n, op.Name, n.OpType)
		}
		if !slices.Equal(op.outputs, n.Outputs) {
			errorf("node %d %s: outputs: onnx-go %q, importer %q", i, n, op.outputs, n.Outputs)
		}
		var names []string
		for _, a := range n.Attrs {
			names = append(names, a.Name)
			got, ok := op.Attributes[a.Name]
			if !ok {
				continue
			}
			if d := compareAttr(a, got); d != "" {
				errorf("node %d %s: attribute %q: %s", i, n, a.Name, d)
			}
		}
		var gotAttrs []string
		for k := range op.Attributes {
			gotAttrs = append(gotAttrs, k)
		}
		sort.Strings(names)
		sort.Strings(gotAttrs)
		if !slices.Equal(names, gotAttrs) {
			errorf("node %d %s: attributes: onnx-go %q, importer %q", i, n, gotAttrs, names)
		}
		diffs = append(diffs, compareEdges(i, n, om, og)...)
	}
	return diffs
}

// compareEdges checks the edges onnx-go draws from each output of node i, n,
// to n's inputs: one edge per distinct input name, weighted by the input's
// position (an input read twice keeps its last position).
func compareEdges(i int, n *graph.Node, om *onnx.Model, og *oracleGraph) []string {
	var diffs []string
	errorf := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	ins := n.Inputs
	if len(ins) == 0 {
		ins = []string{n.Name + "/input"}
	}
	want := make(map[string]float64)
	for k, in := range ins {
		want[in] = float64(k)
	}
	for _, o := range n.Outputs {
		if o == "" {
			continue // one onnx-go node stands for every omitted output
		}
		from, ok := om.GetNodeByName(o)
		if !ok {
			errorf("node %d %s: onnx-go has no value %q", i, n, o)
			continue
		}
		got := make(map[string]float64)
		for it := og.From(from.ID()); it.Next(); {
			to := it.Node()
			e := og.WeightedEdge(from.ID(), to.ID())
			got[to.(*oracleNode).name] = e.Weight()
		}
		if !reflect.DeepEqual(got, want) {
			errorf("node %d %s: output %q reads (input: position) onnx-go %v, importer %v", i, n, o, got, want)
		}
	}
	return diffs
}

// compareAttr compares an attribute with what onnx-go made of it.
func compareAttr(a *graph.Attribute, got any) string {
	var want any
	switch a.Type {
	case graph.AttrUndefined:
		want = struct{}{}
	case graph.AttrFloat:
		want = a.F
	case graph.AttrInt:
		want = a.I
	case graph.AttrString:
		want = string(a.S)
	case graph.AttrFloats:
		want = a.Floats
	case graph.AttrInts:
		want = a.Ints
	case graph.AttrStrings:
		s := make([]string, len(a.Strings))
		for i, b := range a.Strings {
			s[i] = string(b)
		}
		want = s
	case graph.AttrTensor:
		ot, ok := got.(tensor.Tensor)
		if !ok {
			return fmt.Sprintf("onnx-go has %T, not a tensor", got)
		}
		return compareTensor(a.T, ot)
	default:
		return "" // onnx-go refuses these types: the model was not decoded
	}
	if f, ok := want.(float32); ok {
		if g, ok := got.(float32); ok && math.Float32bits(f) == math.Float32bits(g) {
			return ""
		}
	} else if reflect.DeepEqual(normalizeEmpty(want), normalizeEmpty(got)) {
		return ""
	}
	return fmt.Sprintf("onnx-go %#v, importer %#v", got, want)
}

// normalizeEmpty makes nil and empty slices equal.
func normalizeEmpty(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice && rv.Len() == 0 {
		return nil
	}
	return v
}

// compareTensor compares a tensor's dtype, shape and, for the types whose
// values onnx-go decodes, its values. It returns "" when they agree.
func compareTensor(x *graph.Tensor, ot tensor.Tensor) string {
	want, ok := tensorDtype(x.DType)
	if !ok || ot.Dtype() != want {
		return fmt.Sprintf("dtype: onnx-go %v, importer %v", ot.Dtype(), x.DType)
	}
	shape := make([]int, len(x.Dims))
	for i, d := range x.Dims {
		shape[i] = int(d)
	}
	if got := []int(ot.Shape()); !slices.Equal(got, shape) && !(len(shape) == 0 && ot.Shape().IsScalar()) {
		return fmt.Sprintf("shape: onnx-go %v, importer %v", got, shape)
	}
	got := reflect.ValueOf(ot.Data())
	if got.Kind() != reflect.Slice { // a scalar
		s := reflect.MakeSlice(reflect.SliceOf(got.Type()), 1, 1)
		s.Index(0).Set(got)
		got = s
	}
	if int64(got.Len()) != x.Len() {
		return fmt.Sprintf("onnx-go holds %d values, importer %d", got.Len(), x.Len())
	}
	var mine []any
	switch x.DType {
	case graph.Float32:
		v, err := x.Float32s()
		if err != nil {
			return err.Error()
		}
		for i, f := range v {
			if g := got.Index(i).Interface().(float32); math.Float32bits(g) != math.Float32bits(f) {
				return fmt.Sprintf("value %d: onnx-go %v, importer %v", i, g, f)
			}
		}
		return ""
	case graph.Float64:
		for i := range got.Len() {
			f := math.Float64frombits(binary.LittleEndian.Uint64(x.Raw[8*i:]))
			if g := got.Index(i).Interface().(float64); math.Float64bits(g) != math.Float64bits(f) {
				return fmt.Sprintf("value %d: onnx-go %v, importer %v", i, g, f)
			}
		}
		return ""
	case graph.Int32, graph.Int64, graph.Bool:
		v, err := x.Int64s()
		if err != nil {
			return err.Error()
		}
		for _, i := range v {
			if x.DType == graph.Bool {
				mine = append(mine, i != 0)
			} else {
				mine = append(mine, i)
			}
		}
	default:
		return "" // onnx-go refuses the values of other types
	}
	for i, w := range mine {
		g := got.Index(i)
		var gv any
		switch g.Kind() {
		case reflect.Int32, reflect.Int64:
			gv = g.Int()
		default:
			gv = g.Interface()
		}
		if gv != w {
			return fmt.Sprintf("value %d: onnx-go %v, importer %v", i, gv, w)
		}
	}
	return ""
}

// tensorDtype is gorgonia's dtype for an ONNX element type.
func tensorDtype(d graph.DType) (tensor.Dtype, bool) {
	m := map[graph.DType]tensor.Dtype{
		graph.Float32: tensor.Float32, graph.Float64: tensor.Float64,
		graph.Uint8: tensor.Uint8, graph.Int8: tensor.Int8,
		graph.Uint16: tensor.Uint16, graph.Int16: tensor.Int16,
		graph.Uint32: tensor.Uint32, graph.Int32: tensor.Int32,
		graph.Uint64: tensor.Uint64, graph.Int64: tensor.Int64,
		graph.Bool: tensor.Bool, graph.String: tensor.String,
		graph.Complex64: tensor.Complex64, graph.Complex128: tensor.Complex128,
	}
	dt, ok := m[d]
	return dt, ok
}

// setDiff describes how got and want differ, or returns "".
func setDiff(got, want map[string]bool) string {
	var extra, missing []string
	for k := range got {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	for k := range want {
		if !got[k] {
			missing = append(missing, k)
		}
	}
	if len(extra)+len(missing) == 0 {
		return ""
	}
	sort.Strings(extra)
	sort.Strings(missing)
	return fmt.Sprintf("only onnx-go has %q; only the importer has %q", extra, missing)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
