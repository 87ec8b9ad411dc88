package train

import (
	"fmt"
	"math"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/train/data"
)

// Metrics is how a model does on a data set, as Evaluate measures it.
//
// For a classifier (cross-entropy): the mean cross-entropy (PyTorch's
// nn.CrossEntropyLoss, the mean of logsumexp(z) - z[y]), top-1 and top-5
// accuracy, and per class the precision, recall, F1 and support with their
// macro mean, all from the confusion matrix, as scikit-learn's
// precision_recall_fscore_support(labels=range(Classes), zero_division=0)
// computes them: a class no example is predicted as has precision 0, one
// with no example has recall 0. The macro mean is f1_score(average="macro")'s
// with scikit-learn's default labels: over the classes present among the
// labels or the predictions (a class neither true nor predicted of any
// example is listed with zeros but not averaged; 0 when there are none).
// The prediction is the first largest score, a NaN counting as the
// largest, as torch.argmax picks it (Argmax); an example counts in
// top-5 when its label is among the five largest scores, a NaN again above
// every number and ties going to the lower class index as argmax's do (the
// first five of torch.sort(descending=True, stable=True)); with fewer than
// five classes, top-5 is top-Classes, as timm's accuracy takes min(5,
// classes).
//
// For mse only N and Loss (nn.MSELoss's mean over every element) are set.
type Metrics struct {
	N        int     `json:"n"`
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"` // top-1
	Top5     float64 `json:"top5"`
	Correct  int     `json:"correct"` // examples right at top-1
	Classes  int     `json:"classes"`
	// Per class, indexed by label.
	Precision []float64 `json:"precision,omitempty"`
	Recall    []float64 `json:"recall,omitempty"`
	F1        []float64 `json:"f1,omitempty"`
	Support   []int     `json:"support,omitempty"` // examples of the class
	MacroF1   float64   `json:"macro_f1"`
	// Confusion[i][j] counts the examples of class i predicted as class j.
	Confusion [][]int `json:"confusion,omitempty"`
}

// Metric names a validation metric of a run (--save-best, --early-stop):
// ValLoss is minimized, the others maximized.
type Metric string

// The metrics a run can watch.
const (
	ValLoss     Metric = "val_loss"
	ValAccuracy Metric = "val_accuracy"
	ValTop5     Metric = "val_top5"
	ValMacroF1  Metric = "val_macro_f1"
)

// WatchedMetrics lists the metrics a run can watch.
func WatchedMetrics() []Metric { return []Metric{ValLoss, ValAccuracy, ValTop5, ValMacroF1} }

// Value returns the metric's value in m.
func (k Metric) Value(m *Metrics) float64 {
	switch k {
	case ValLoss:
		return m.Loss
	case ValAccuracy:
		return m.Accuracy
	case ValTop5:
		return m.Top5
	case ValMacroF1:
		return m.MacroF1
	}
	return math.NaN()
}

// Minimize reports whether smaller is better (the loss).
func (k Metric) Minimize() bool { return k == ValLoss }

// Better reports whether v improves on best (strictly, as Hugging Face's
// EarlyStoppingCallback with threshold 0 compares them); NaN never
// improves, and anything not NaN improves on a NaN best.
func (k Metric) Better(v, best float64) bool {
	switch {
	case math.IsNaN(v):
		return false
	case math.IsNaN(best):
		return true
	case k.Minimize():
		return v < best
	}
	return v > best
}

func (k Metric) valid() bool {
	for _, w := range WatchedMetrics() {
		if k == w {
			return true
		}
	}
	return false
}

// scorer accumulates a classifier's scores batch by batch.
type scorer struct {
	classes   int
	n         int
	lossSum   float64
	correct   int
	top5      int
	confusion [][]int
	// maxBytes bounds the confusion matrix, k*k counts for the k classes
	// of the model's output (graph.LimitBytes: zero is the default).
	maxBytes int64
}

// add scores z ([len(labels), classes] row-major) against labels.
func (s *scorer) add(z []float32, labels []int64, indices []int) error {
	n := len(labels)
	if n == 0 || len(z)%n != 0 {
		return fmt.Errorf("%d scores for %d labels", len(z), n)
	}
	k := len(z) / n
	if s.confusion == nil {
		if err := graph.CheckBytes(fmt.Sprintf("the confusion matrix of %d classes", k), int64(k)*int64(k), 8, s.maxBytes); err != nil {
			return err
		}
		s.classes = k
		s.confusion = make([][]int, k)
		for i := range s.confusion {
			s.confusion[i] = make([]int, k)
		}
	} else if k != s.classes {
		return fmt.Errorf("%d class scores, earlier batches had %d", k, s.classes)
	}
	if err := data.CheckLabels(labels, indices, k); err != nil {
		return err
	}
	top := min(5, k)
	for i, y := range labels {
		row := z[i*k : (i+1)*k]
		best := Argmax(row)
		// The label's rank: scores above it, and equal ones before it, a
		// NaN above every number and equal to another NaN (torch.sort's
		// order, stable, descending).
		rank := 0
		zy := row[y]
		for j, v := range row {
			if scoreAbove(v, zy) || int64(j) < y && !scoreAbove(zy, v) {
				rank++
			}
		}
		if int64(best) == y {
			s.correct++
		}
		if rank < top {
			s.top5++
		}
		s.confusion[y][best]++
		s.lossSum += logSumExp(row) - float64(zy)
	}
	s.n += n
	return nil
}

// scoreAbove reports whether score a ranks above b: a NaN above every
// number, as torch.argmax and torch.sort take it.
func scoreAbove(a, b float32) bool { return a > b || a != a && b == b }

// metrics returns what was scored.
func (s *scorer) metrics() *Metrics {
	k := s.classes
	m := &Metrics{N: s.n, Classes: k, Correct: s.correct, Confusion: s.confusion,
		Precision: make([]float64, k), Recall: make([]float64, k), F1: make([]float64, k), Support: make([]int, k)}
	if s.n == 0 {
		return m
	}
	m.Loss = s.lossSum / float64(s.n)
	m.Accuracy = float64(s.correct) / float64(s.n)
	m.Top5 = float64(s.top5) / float64(s.n)
	present := 0 // classes among the labels or the predictions
	for c := range k {
		tp, predicted := s.confusion[c][c], 0
		for i := range k {
			predicted += s.confusion[i][c]
			m.Support[c] += s.confusion[c][i]
		}
		if predicted > 0 {
			m.Precision[c] = float64(tp) / float64(predicted)
		}
		if m.Support[c] > 0 {
			m.Recall[c] = float64(tp) / float64(m.Support[c])
		}
		if p, r := m.Precision[c], m.Recall[c]; p+r > 0 {
			m.F1[c] = 2 * p * r / (p + r)
		}
		if predicted > 0 || m.Support[c] > 0 {
			m.MacroF1 += m.F1[c]
			present++
		}
	}
	if present > 0 {
		m.MacroF1 /= float64(present)
	}
	return m
}
