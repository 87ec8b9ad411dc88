package ops_test

import (
	"fmt"
	"hash/fnv"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
)

// fuzzLimit is the size limit FuzzRun loads and compiles under.
const fuzzLimit = 64 << 20

// fuzzInputElems bounds the elements of one input FuzzRun makes up, so an
// input dimension the mutator made large does not make the run slow.
const fuzzInputElems = 1 << 20

// FuzzRun loads mutated models (the samples and ONNX's node tests), and
// compiles and runs whatever loads on small seeded inputs, in inference
// and in training (with the gradients of every float parameter), under a
// 64 MiB limit. Properties: no panic escapes the importer or the engine,
// no tensor of the compiled graphs is above the limit, and failures are
// error values.
func FuzzRun(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "..", "models", "*.onnx"))
	cases, _ := filepath.Glob(filepath.Join(casesDir, "*", "model.onnx"))
	if len(cases) == 0 {
		f.Logf("no ONNX node tests in %s: seeding with the sample models only", casesDir)
	}
	for _, s := range append(seeds, cases...) {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := importer.Decode(b, importer.Options{MaxBytes: fuzzLimit})
		if err != nil {
			return
		}
		h := fnv.New64a()
		h.Write(b)
		inputs, shapes, ok := fuzzInputs(m, rand.New(rand.NewSource(int64(h.Sum64()))))
		if !ok {
			return
		}
		p, err := ops.Compile(m, shapes, ops.Options{MaxBytes: fuzzLimit})
		if err != nil {
			return
		}
		defer p.Close()
		total := checkNodes(t, p.Graph)
		if total > 4*fuzzLimit {
			return // legal, but too slow to run in a fuzzing loop
		}
		if _, err := p.Run(inputs); err != nil {
			return
		}
		fuzzTrain(t, m, shapes, inputs)
	})
}

// fuzzTrain compiles m for training, differentiates the sum of its first
// float output with respect to every float parameter and runs the step.
func fuzzTrain(t *testing.T, m *graph.Model, shapes map[string][]int, inputs map[string]*tensor.Dense) {
	p, err := ops.Compile(m, shapes, ops.Options{Train: true, Seed: 1, MaxBytes: fuzzLimit})
	if err != nil {
		return
	}
	defer p.Close()
	var out *G.Node
	for _, o := range p.Outputs {
		if !o.IsConst() && (o.DType == graph.Float32 || o.DType == graph.Float64) {
			out = o.Node
			break
		}
	}
	var wrt G.Nodes
	for _, n := range p.Params {
		wrt = append(wrt, n)
	}
	if out == nil || len(wrt) == 0 {
		return
	}
	loss, err := ops.NewNode(p.Graph, "fuzz/loss", sumSpec(out), out)
	if err != nil {
		t.Fatalf("loss node: %v", err)
	}
	if _, err := G.Grad(loss, wrt...); err != nil {
		return
	}
	if checkNodes(t, p.Graph) > 4*fuzzLimit {
		return
	}
	vm := G.NewTapeMachine(p.Graph)
	defer vm.Close()
	for name, n := range p.Inputs {
		if err := G.Let(n, inputs[name]); err != nil {
			return
		}
	}
	_ = vm.RunAll() // an error is fine; a panic fails the fuzz case
}

// sumSpec is a scalar loss: the sum of x's elements, with a gradient of ones.
func sumSpec(x *G.Node) ops.Spec {
	dt := ops.DTypeOf(x)
	shape := ops.ShapeOf(x)
	return ops.Spec{Name: "FuzzSum", Shape: []int{}, DType: dt, WRT: []bool{true},
		Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
			s := 0.0
			switch d := in[0].Data().(type) {
			case []float32:
				for _, v := range d {
					s += float64(v)
				}
				return tensor.New(tensor.FromScalar(float32(s))), nil
			case []float64:
				for _, v := range d {
					s += v
				}
			case float32:
				return tensor.New(tensor.FromScalar(d)), nil
			case float64:
				s = d
			}
			return tensor.New(tensor.FromScalar(s)), nil
		},
		Grad: func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			n, err := ops.NewNode(grad.Graph(), "fuzz/lossgrad", ops.Spec{Name: "FuzzSumGrad", Shape: shape, DType: dt,
				Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
					size := 1
					for _, d := range shape {
						size *= d
					}
					if dt == graph.Float32 {
						return ops.Dense(shape, fill(size, float32(1))), nil
					}
					return ops.Dense(shape, fill(size, 1.0)), nil
				}}, grad)
			return G.Nodes{n}, err
		}}
}

func fill[T any](n int, v T) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// checkNodes fails the test when a node of g holds more than the limit and
// returns the bytes of all nodes.
func checkNodes(t *testing.T, g *G.ExprGraph) int64 {
	t.Helper()
	var total int64
	for _, n := range g.AllNodes() {
		elems := int64(1)
		if !n.IsScalar() {
			elems = int64(n.Shape().TotalSize())
		}
		b := elems * int64(n.Dtype().Size())
		if elems < 0 || b > fuzzLimit {
			t.Fatalf("node %s holds %d elements of %v, over the limit of %d bytes", n.Name(), elems, n.Dtype(), fuzzLimit)
		}
		total += b
	}
	return total
}

// fuzzInputs makes a value for every graph input: symbolic dims are 2,
// values are seeded (floats normal, integers 0 to 2, booleans either).
func fuzzInputs(m *graph.Model, r *rand.Rand) (map[string]*tensor.Dense, map[string][]int, bool) {
	inputs := make(map[string]*tensor.Dense)
	shapes := make(map[string][]int)
	for _, name := range ops.InputNames(m) {
		var vi *graph.ValueInfo
		for _, in := range m.Graph.Inputs {
			if in.Name == name {
				vi = in
			}
		}
		dt, dims, ok := vi.TensorShape()
		if !ok {
			return nil, nil, false
		}
		shape := make([]int, len(dims))
		size := 1
		for i, d := range dims {
			shape[i] = 2
			if d.HasValue {
				if d.Value < 0 || d.Value > fuzzInputElems {
					return nil, nil, false
				}
				shape[i] = int(d.Value)
			}
			if size *= shape[i]; size > fuzzInputElems {
				return nil, nil, false
			}
		}
		t, err := fuzzTensor(dt, shape, size, r)
		if err != nil {
			return nil, nil, false
		}
		inputs[name], shapes[name] = t, shape
	}
	return inputs, shapes, true
}

func fuzzTensor(dt graph.DType, shape []int, n int, r *rand.Rand) (*tensor.Dense, error) {
	small := func() int64 { return int64(r.Intn(3)) }
	switch dt {
	case graph.Float32:
		return ops.Dense(shape, gen(n, func() float32 { return float32(r.NormFloat64()) })), nil
	case graph.Float64:
		return ops.Dense(shape, gen(n, r.NormFloat64)), nil
	case graph.Int64:
		return ops.Dense(shape, gen(n, small)), nil
	case graph.Int32:
		return ops.Dense(shape, gen(n, func() int32 { return int32(small()) })), nil
	case graph.Int16:
		return ops.Dense(shape, gen(n, func() int16 { return int16(small()) })), nil
	case graph.Int8:
		return ops.Dense(shape, gen(n, func() int8 { return int8(small()) })), nil
	case graph.Uint64:
		return ops.Dense(shape, gen(n, func() uint64 { return uint64(small()) })), nil
	case graph.Uint32:
		return ops.Dense(shape, gen(n, func() uint32 { return uint32(small()) })), nil
	case graph.Uint16:
		return ops.Dense(shape, gen(n, func() uint16 { return uint16(small()) })), nil
	case graph.Uint8:
		return ops.Dense(shape, gen(n, func() uint8 { return uint8(small()) })), nil
	case graph.Bool:
		return ops.Dense(shape, gen(n, func() bool { return r.Intn(2) == 1 })), nil
	}
	return nil, fmt.Errorf("no inputs of %s", dt)
}

func gen[T any](n int, f func() T) []T {
	s := make([]T, max(n, 1))
	for i := range s {
		s[i] = f()
	}
	return s[:n:n]
}
