package ops_test

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
)

var updateConformance = flag.Bool("update-conformance", false, "rewrite testdata/conformance.txt and docs/ops.md from the cases that pass")

const (
	casesDir   = "../../../shared/onnx-node-tests"
	listFile   = "testdata/conformance.txt"
	notesFile  = "testdata/conformance_notes.txt"
	opsDocFile = "../../docs/ops.md"
)

// caseResult is the outcome of one ONNX conformance case.
type caseResult struct {
	name, op string
	err      error
}

// runCase loads an ONNX node test case, runs it and compares every output
// with the expected one (rtol 1e-3, atol 1e-7 as ONNX's backend tests do,
// exact for integers and booleans).
func runCase(dir string) (res caseResult) {
	res.name = filepath.Base(dir)
	defer func() {
		if r := recover(); r != nil {
			res.err = fmt.Errorf("panic: %v", r)
		}
	}()
	m, err := importer.Load(filepath.Join(dir, "model.onnx"))
	if err != nil {
		res.err = err
		return
	}
	if len(m.Graph.Nodes) > 0 {
		res.op = m.Graph.Nodes[0].OpType
		if strings.Contains(res.name, "_expanded") {
			res.op = "(expanded) " + opOfExpanded(res.name)
		}
	}
	var inputs []*graph.ValueInfo
	for _, in := range m.Graph.Inputs {
		if m.Graph.Initializer(in.Name) == nil {
			inputs = append(inputs, in)
		}
	}
	shapes := make(map[string][]int)
	values := make(map[string]*tensor.Dense)
	consts := make(map[string]*tensor.Dense)
	for i, in := range inputs {
		t, err := readPB(filepath.Join(dir, "test_data_set_0", fmt.Sprintf("input_%d.pb", i)))
		if err != nil {
			res.err = err
			return
		}
		if isInteger(t) || t.Dims() == 0 || sizesOutput(m.Graph, in.Name) {
			// Shapes, axes, pads, indices and scalar settings (a Dropout
			// ratio): onnxtune compiles a model per input, with such values
			// known (Options.Constants).
			consts[in.Name] = t
			continue
		}
		values[in.Name] = t
		shapes[in.Name] = ops.Shape(t)
	}
	// Cases of training-mode semantics (BatchNormalization with batch
	// statistics, Dropout active) compile as for training.
	train := strings.Contains(res.name, "training")
	p, err := ops.Compile(m, shapes, ops.Options{Constants: consts, Train: train})
	if err != nil {
		res.err = err
		return
	}
	defer p.Close()
	outs, err := p.Run(values)
	if err != nil {
		res.err = err
		return
	}
	for i := range m.Graph.Outputs {
		want, err := readPB(filepath.Join(dir, "test_data_set_0", fmt.Sprintf("output_%d.pb", i)))
		if err != nil {
			res.err = err
			return
		}
		if err := compare(outs[i], want); err != nil {
			res.err = fmt.Errorf("output %d: %w", i, err)
			return
		}
	}
	return res
}

// sizesOutput reports a graph input that a node reads where the engine
// needs the value when the model is compiled: Resize's and Upsample's roi
// and scales (float tensors).
func sizesOutput(g *graph.Graph, name string) bool {
	for _, n := range g.Nodes {
		if n.OpType == "Resize" || n.OpType == "Upsample" {
			for i, in := range n.Inputs {
				if i > 0 && in == name {
					return true
				}
			}
		}
	}
	return false
}

func opOfExpanded(name string) string {
	name = strings.TrimPrefix(name, "test_")
	return strings.SplitN(name, "_", 2)[0]
}

func readPB(path string) (*tensor.Dense, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := importer.DecodeTensor(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return ops.TensorFromIR(t)
}

func compare(got, want *tensor.Dense) error {
	if got.Dtype() != want.Dtype() {
		return fmt.Errorf("type %v, want %v", got.Dtype(), want.Dtype())
	}
	gs, ws := ops.Shape(got), ops.Shape(want)
	if fmt.Sprint(gs) != fmt.Sprint(ws) {
		return fmt.Errorf("shape %v, want %v", gs, ws)
	}
	switch w := want.Data().(type) {
	case []float32, float32:
		a, _ := ops.Data[float32](got)
		b, _ := ops.Data[float32](want)
		for i := range b {
			if !close(float64(a[i]), float64(b[i])) {
				return fmt.Errorf("element %d is %g, want %g", i, a[i], b[i])
			}
		}
	case []float64, float64:
		a, _ := ops.Data[float64](got)
		b, _ := ops.Data[float64](want)
		for i := range b {
			if !close(a[i], b[i]) {
				return fmt.Errorf("element %d is %g, want %g", i, a[i], b[i])
			}
		}
	default:
		if fmt.Sprint(got.Data()) != fmt.Sprint(w) {
			return fmt.Errorf("values %v, want %v", clip(got.Data()), clip(w))
		}
	}
	return nil
}

func clip(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}

func close(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if math.IsInf(b, 0) {
		return a == b
	}
	return math.Abs(a-b) <= 1e-7+1e-3*math.Abs(b)
}

func readList(path string) map[string]bool {
	set := make(map[string]bool)
	f, err := os.Open(path)
	if err != nil {
		return set
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			set[line] = true
		}
	}
	return set
}

// TestConformance runs ONNX's conformance cases for the ops onnxtune
// supports. Every case in testdata/conformance.txt must pass; the list only
// grows (-update-conformance adds the cases that now pass, and refuses to run
// while a listed case fails).
func TestConformance(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(casesDir, "test_*"))
	if len(dirs) == 0 {
		t.Skipf("ONNX conformance cases not found at %s (they sit beside the repository as ../shared)", casesDir)
	}
	listed := readList(listFile)
	var results []caseResult
	for _, d := range dirs {
		results = append(results, runCase(d))
	}
	passing := 0
	for _, r := range results {
		if r.err == nil {
			passing++
			continue
		}
		if listed[r.name] {
			t.Errorf("%s (listed as passing): %v", r.name, r.err)
		}
	}
	seen := make(map[string]bool)
	for _, r := range results {
		seen[r.name] = true
	}
	for name := range listed {
		if !seen[name] {
			t.Errorf("%s is listed as passing but is not among the cases", name)
		}
	}
	t.Logf("%d of %d conformance cases pass (%d listed)", passing, len(results), len(listed))
	if *updateConformance {
		if t.Failed() {
			t.Fatal("not updating: a listed case fails")
		}
		writeList(t, results, listed)
		writeOpsDoc(t, results)
	} else if testing.Verbose() {
		for _, r := range results {
			if r.err != nil && !listed[r.name] {
				t.Logf("not passing: %s: %v", r.name, oneLine(r.err))
			}
		}
	}
}

func oneLine(err error) string {
	s := strings.ReplaceAll(err.Error(), "\n", " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func writeList(t *testing.T, results []caseResult, listed map[string]bool) {
	var names []string
	for _, r := range results {
		if r.err == nil || listed[r.name] {
			names = append(names, r.name)
		}
	}
	sort.Strings(names)
	body := "# ONNX conformance cases (../shared/onnx-node-tests) that pass. This list only grows:\n" +
		"# TestConformance fails if a listed case fails. Regenerate with\n" +
		"#   go test ./graph/ops -run TestConformance -update-conformance\n" + strings.Join(names, "\n") + "\n"
	if err := os.WriteFile(listFile, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeOpsDoc generates docs/ops.md from the registry and the results.
func writeOpsDoc(t *testing.T, results []caseResult) {
	reg := ops.NewRegistry()
	notes := readNotes()
	type count struct{ pass, total int }
	perOp := make(map[string]*count)
	failures := make(map[string][]caseResult)
	for _, r := range results {
		op := r.op
		if op == "" {
			op = "?"
		}
		c := perOp[op]
		if c == nil {
			c = &count{}
			perOp[op] = c
		}
		c.total++
		if r.err == nil {
			c.pass++
		} else {
			failures[op] = append(failures[op], r)
		}
	}
	var b strings.Builder
	b.WriteString("# Op coverage\n\nGenerated by `go test ./graph/ops -run TestConformance -update-conformance` from the op\n" +
		"registry (graph/ops) and ONNX's own conformance cases (onnx v1.22.0 node tests, in ../shared/onnx-node-tests).\n" +
		"Do not edit by hand: explanations of failing cases live in graph/ops/testdata/conformance_notes.txt.\n\n")
	b.WriteString("## Registered ops\n\nParameters: the inputs that hold a PyTorch parameter (`OpInfo.Params`), by position.\n\n" +
		"| op | gradient | parameters | conformance cases passing |\n|---|---|---|---|\n")
	for _, o := range reg.Ops() {
		grad := "no"
		if o.Differentiable {
			grad = "yes"
		}
		c := perOp[o.Name]
		cases := "no cases"
		if c != nil {
			cases = fmt.Sprintf("%d / %d", c.pass, c.total)
		}
		var params []string
		for _, p := range o.Params {
			params = append(params, fmt.Sprintf("%d: %s", p.Input, p.Suffix))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", o.Name, grad, strings.Join(params, ", "), cases)
	}
	b.WriteString("\n## Cases that do not pass\n\n")
	var ops []string
	for op := range failures {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		c := perOp[op]
		fmt.Fprintf(&b, "### %s (%d of %d pass)\n\n", op, c.pass, c.total)
		for _, r := range failures[op] {
			why := notes[r.name]
			if why == "" {
				why = "error: " + oneLine(r.err)
			}
			fmt.Fprintf(&b, "- `%s`: %s\n", r.name, strings.ReplaceAll(why, "|", "\\|"))
		}
		b.WriteString("\n")
	}
	if err := os.WriteFile(opsDocFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readNotes reads "case: explanation" lines.
func readNotes() map[string]string {
	notes := make(map[string]string)
	b, err := os.ReadFile(notesFile)
	if err != nil {
		return notes
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			notes[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return notes
}

func isInteger(t *tensor.Dense) bool {
	switch t.Dtype() {
	case tensor.Int64, tensor.Int32, tensor.Int8, tensor.Uint8, tensor.Bool:
		return true
	}
	return false
}
