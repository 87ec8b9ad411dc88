package train

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/testmodels"
	"github.com/onnxtune/onnxtune/train/data"
)

// metricsFixture is models/metrics/expected.json (models/make_metrics.py):
// scikit-learn's metrics of ONNX Runtime's predictions.
type metricsFixture struct {
	Classifier struct {
		N         int       `json:"n"`
		Loss      float64   `json:"loss"`
		Accuracy  float64   `json:"accuracy"`
		Top5      float64   `json:"top5"`
		Precision []float64 `json:"precision"`
		Recall    []float64 `json:"recall"`
		F1        []float64 `json:"f1"`
		Support   []int     `json:"support"`
		MacroF1   float64   `json:"macro_f1"`
		Confusion [][]int   `json:"confusion"`
	} `json:"classifier"`
	MacroCases []struct {
		Name      string    `json:"name"`
		Classes   int       `json:"classes"`
		True      []int64   `json:"y_true"`
		Pred      []int     `json:"y_pred"`
		Precision []float64 `json:"precision"`
		Recall    []float64 `json:"recall"`
		F1        []float64 `json:"f1"`
		Support   []int     `json:"support"`
		MacroF1   float64   `json:"macro_f1"`
	} `json:"macro_cases"`
	Regressor struct {
		N    int     `json:"n"`
		Loss float64 `json:"loss"`
	} `json:"regressor"`
}

func readMetricsFixture(t *testing.T) metricsFixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "models", "metrics", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f metricsFixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func metricsLoader(t *testing.T, model, file string, batch int) (*graph.Model, *data.Loader) {
	t.Helper()
	dir := filepath.Join("..", "models", "metrics")
	m, err := importer.Load(filepath.Join(dir, model))
	if err != nil {
		t.Fatal(err)
	}
	ins, err := data.InputsOf(m)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := data.Open(filepath.Join(dir, file), data.Options{}.ForInputs(ins))
	if err != nil {
		t.Fatal(err)
	}
	l, err := data.NewLoader(ds, batch, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, l
}

// TestEvaluateMatchesSklearn checks every metric of Evaluate against
// scikit-learn's on ONNX Runtime's predictions, at batch sizes that cut
// the 60 examples evenly and not.
func TestEvaluateMatchesSklearn(t *testing.T) {
	want := readMetricsFixture(t).Classifier
	for _, batch := range []int{7, 16, 60} {
		m, l := metricsLoader(t, "classifier.onnx", "data.npz", batch)
		done := 0
		got, err := Evaluate(m, l, EvalOptions{Progress: func(n int) { done = n }})
		if err != nil {
			t.Fatal(err)
		}
		close := func(what string, g, w, tol float64) {
			if math.Abs(g-w) > tol {
				t.Errorf("batch %d: %s %v, sklearn %v", batch, what, g, w)
			}
		}
		if got.N != want.N || done != want.N {
			t.Errorf("batch %d: n %d (progress %d), want %d", batch, got.N, done, want.N)
		}
		// Loss from float32 logits of two engines: ONNX Runtime's and ours.
		close("loss", got.Loss, want.Loss, 1e-6)
		t.Logf("batch %d: loss %.12f, numpy on ONNX Runtime's logits %.12f (differ by %.2g); macro F1 differs by %.2g",
			batch, got.Loss, want.Loss, math.Abs(got.Loss-want.Loss), math.Abs(got.MacroF1-want.MacroF1))
		close("accuracy", got.Accuracy, want.Accuracy, 0)
		close("top5", got.Top5, want.Top5, 0)
		close("macro_f1", got.MacroF1, want.MacroF1, 1e-12)
		if got.Classes != len(want.Support) {
			t.Fatalf("batch %d: %d classes, want %d", batch, got.Classes, len(want.Support))
		}
		for c := range got.Classes {
			close("precision", got.Precision[c], want.Precision[c], 1e-12)
			close("recall", got.Recall[c], want.Recall[c], 1e-12)
			close("f1", got.F1[c], want.F1[c], 1e-12)
			if got.Support[c] != want.Support[c] {
				t.Errorf("batch %d: class %d support %d, want %d", batch, c, got.Support[c], want.Support[c])
			}
			for j := range got.Classes {
				if got.Confusion[c][j] != want.Confusion[c][j] {
					t.Errorf("batch %d: confusion[%d][%d] %d, want %d", batch, c, j, got.Confusion[c][j], want.Confusion[c][j])
				}
			}
		}
	}
}

// TestMacroF1Cases: the macro F1 is scikit-learn's default
// f1_score(average="macro"), over the classes present among the labels or
// the predictions (perfect on 2 of 3 classes is 1), the per-class figures
// still listed for every class.
func TestMacroF1Cases(t *testing.T) {
	cases := readMetricsFixture(t).MacroCases
	if len(cases) == 0 {
		t.Fatal("no macro_cases in the fixture (regenerate with models/make_metrics.py)")
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			// One-hot scores: the prediction is the one class scored 1.
			z := make([]float32, len(c.Pred)*c.Classes)
			for i, p := range c.Pred {
				z[i*c.Classes+p] = 1
			}
			var s scorer
			if err := s.add(z, c.True, nil); err != nil {
				t.Fatal(err)
			}
			m := s.metrics()
			if math.Abs(m.MacroF1-c.MacroF1) > 1e-12 {
				t.Errorf("macro F1 %v, sklearn %v", m.MacroF1, c.MacroF1)
			}
			for k := range c.Classes {
				if math.Abs(m.Precision[k]-c.Precision[k]) > 1e-12 || math.Abs(m.Recall[k]-c.Recall[k]) > 1e-12 ||
					math.Abs(m.F1[k]-c.F1[k]) > 1e-12 || m.Support[k] != c.Support[k] {
					t.Errorf("class %d: precision %v recall %v f1 %v support %d, sklearn %v %v %v %d", k,
						m.Precision[k], m.Recall[k], m.F1[k], m.Support[k], c.Precision[k], c.Recall[k], c.F1[k], c.Support[k])
				}
			}
		})
	}
}

// TestEvaluateMSE checks the mse loss against numpy's on ONNX Runtime's
// outputs.
func TestEvaluateMSE(t *testing.T) {
	want := readMetricsFixture(t).Regressor
	m, l := metricsLoader(t, "regressor.onnx", "targets.npz", 16)
	got, err := Evaluate(m, l, EvalOptions{Loss: MSE})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("mse %.12f, numpy %.12f (differ by %.2g)", got.Loss, want.Loss, math.Abs(got.Loss-want.Loss))
	if got.N != want.N || math.Abs(got.Loss-want.Loss) > 1e-6 || got.Classes != 0 {
		t.Errorf("got n %d loss %v classes %d, want n %d loss %v", got.N, got.Loss, got.Classes, want.N, want.Loss)
	}
	if _, err := Evaluate(m, l, EvalOptions{}); err == nil {
		t.Errorf("cross-entropy on float targets: no error")
	}
}

// TestScorerTies: the label's rank counts equal scores before it, as
// argmax picks the first largest.
func TestScorerTies(t *testing.T) {
	z := []float32{1, 1, 1, 1, 1, 1, 0}
	for _, c := range []struct {
		label      int64
		top1, top5 int
	}{{0, 1, 1}, {4, 0, 1}, {5, 0, 0}, {6, 0, 0}} {
		var s scorer
		if err := s.add(z, []int64{c.label}, nil); err != nil {
			t.Fatal(err)
		}
		if s.correct != c.top1 || s.top5 != c.top5 {
			t.Errorf("label %d: top1 %d top5 %d, want %d %d", c.label, s.correct, s.top5, c.top1, c.top5)
		}
	}
	var s scorer
	if err := s.add(z, []int64{7}, nil); err == nil {
		t.Errorf("label 7 of 7 classes: no error")
	}
}

// TestScorerConfusionLimit: the confusion matrix of k classes (k*k
// counts, k read from the model's output) is sized against MaxBytes before
// it is made; a model scoring 100,000 classes made eval allocate 80 GB.
func TestScorerConfusionLimit(t *testing.T) {
	for _, c := range []struct {
		name     string
		classes  int
		maxBytes int64
		ok       bool
	}{
		{"under", 256, 1 << 20, true},
		{"over", 400, 1 << 20, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := scorer{maxBytes: c.maxBytes}
			err := s.add(make([]float32, c.classes), []int64{0}, nil)
			var lim *graph.LimitError
			switch {
			case c.ok && err != nil:
				t.Fatalf("%d classes: %v", c.classes, err)
			case !c.ok && !errors.As(err, &lim):
				t.Fatalf("%d classes under %d bytes: %v, want a *graph.LimitError", c.classes, c.maxBytes, err)
			case !c.ok && (lim.Bytes != int64(c.classes*c.classes*8) || s.confusion != nil):
				t.Errorf("%v: asks %d bytes, confusion made %v; want %d and none", err, lim.Bytes, s.confusion != nil, c.classes*c.classes*8)
			}
		})
	}
}

// TestEvaluateNotClassScores: a model whose first output is not [batch,
// classes] (here LeNet's logits reshaped to [batch, 2, 5]) is refused as
// training refuses it; Evaluate read its [4, 2, 5] scores as [4, 10] and
// reported the accuracy, loss and per-class scores of 10 classes.
func TestEvaluateNotClassScores(t *testing.T) {
	m := lenet10(t)
	g := m.Graph
	shape := &graph.Tensor{Name: "shape3", DType: graph.Int64, Dims: []int64{3}, Raw: binary.LittleEndian.AppendUint64(
		binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 0), 2), 5)}
	g.Initializers = append(g.Initializers, shape)
	g.Nodes = append(g.Nodes, &graph.Node{Name: "/Reshape3", OpType: "Reshape", Inputs: []string{g.Outputs[0].Name, "shape3"}, Outputs: []string{"z3"}})
	out := *g.Outputs[0]
	out.Name = "z3"
	out.Type = nil
	g.Outputs[0] = &out
	m.BuildParams()
	x, y := testmodels.MNISTTest(t, 4)
	_, err := Evaluate(m, &memSource{x: x, y: y, bs: 4}, EvalOptions{})
	want := "batch 0: cross-entropy needs class scores of shape [batch, classes], the model's first output has shape [4 2 5]"
	if err == nil || err.Error() != want {
		t.Fatalf("Evaluate: %v, want %q", err, want)
	}
}
