package train

import (
	"fmt"
	"math"
	"runtime"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/internal/gemm"
	"github.com/onnxtune/onnxtune/train/data"
)

// Loss names a loss function.
type Loss string

// Losses.
const (
	CrossEntropy Loss = "cross-entropy" // class indices; PyTorch's nn.CrossEntropyLoss (mean)
	MSE          Loss = "mse"           // float targets; PyTorch's nn.MSELoss (mean)
)

// crossEntropyNode adds mean cross-entropy of logits [N, C] against int64
// labels [N] to g, as PyTorch's F.cross_entropy with label_smoothing eps
// and class weights w (nil: all 1). Without w:
// loss_i = (1-eps) * -log p[y_i] + eps/C * sum_c -log p[c], averaged.
// With w, as ATen's cross_entropy_loss_label_smoothing:
// loss = [(1-eps) * sum_i w[y_i] * -log p[i,y_i] + eps/C * sum_i sum_c
// w[c] * -log p[i,c]] / sum_i w[y_i].
func crossEntropyNode(g *G.ExprGraph, logits, labels *G.Node, eps float64, w []float64) (*G.Node, error) {
	shape := ops.ShapeOf(logits)
	if len(shape) != 2 {
		return nil, fmt.Errorf("cross-entropy needs class scores of shape [batch, classes], the model's first output has shape %v", shape)
	}
	n, c := shape[0], shape[1]
	if c == 1 {
		// PyTorch computes it (0 at every step), and only weight decay
		// would move the weights: refuse rather than train nothing.
		return nil, settingErr("cross-entropy over one class is 0 whatever the weights: the model's first output has shape %v, one score a sample; train it with mse on float targets of that shape (a sigmoid's probability, a regression)", shape)
	}
	if w != nil && len(w) != c {
		return nil, settingErr("%d class weights: the model has %d classes (its first output)", len(w), c)
	}
	if w != nil {
		// PyTorch holds the weight as a float32 tensor.
		w32 := make([]float64, len(w))
		for i, v := range w {
			w32[i] = float64(float32(v))
		}
		w = w32
	}
	weight := func(k int64) float64 {
		if w == nil {
			return 1
		}
		return w[k]
	}
	// wSum is sum_c w[c]; den the denominator over a batch's labels.
	wSum := float64(c)
	if w != nil {
		wSum = 0
		for _, v := range w {
			wSum += v
		}
	}
	den := func(y []int64) float64 {
		s := 0.0
		for _, k := range y {
			s += weight(k)
		}
		return s
	}
	fwd := func(in []*tensor.Dense) (*tensor.Dense, error) {
		z, err := ops.Data[float32](in[0])
		if err != nil {
			return nil, err
		}
		y, err := ops.Data[int64](in[1])
		if err != nil {
			return nil, err
		}
		for i := 0; i < n; i++ {
			if y[i] < 0 || int(y[i]) >= c {
				return nil, fmt.Errorf("label %d is not one of the model's %d classes", y[i], c)
			}
		}
		// Each row's two terms, rows across the cores, then added up in
		// row order: the sum of the serial loop, bit for bit.
		terms := make([]float64, 2*n)
		lossRows(n, c, func(i int) {
			row := z[i*c : (i+1)*c]
			lse := logSumExp(row)
			terms[2*i] = (1 - eps) * weight(y[i]) * (lse - float64(row[y[i]]))
			if eps != 0 {
				s := 0.0
				for k, v := range row {
					s += weight(int64(k)) * (lse - float64(v))
				}
				terms[2*i+1] = eps / float64(c) * s
			}
		})
		total := 0.0
		for i := 0; i < n; i++ {
			total += terms[2*i]
			if eps != 0 {
				total += terms[2*i+1]
			}
		}
		return tensor.New(tensor.FromScalar(float32(total / den(y[:n])))), nil
	}
	grad := func(inputs G.Nodes, output, gradOut *G.Node) (G.Nodes, error) {
		gz, err := ops.NewNode(gradOut.Graph(), "loss/grad", ops.Spec{Name: "CrossEntropyGrad", Shape: shape, DType: graph.Float32,
			Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
				z, _ := ops.Data[float32](in[0])
				y, _ := ops.Data[int64](in[1])
				gout, _ := ops.Data[float32](in[2])
				scale := float64(gout[0]) / den(y[:n])
				out := make([]float32, n*c)
				lossRows(n, c, func(i int) {
					row := z[i*c : (i+1)*c]
					lse := logSumExp(row)
					wy := weight(y[i])
					for j, v := range row {
						// d/dz_j: (1-eps) w[y] (p_j - [j=y]) + eps/C (p_j sum_c w[c] - w[j])
						p := math.Exp(float64(v) - lse)
						d := eps / float64(c) * (p*wSum - weight(int64(j)))
						d += (1 - eps) * wy * p
						if int64(j) == y[i] {
							d -= (1 - eps) * wy
						}
						out[i*c+j] = float32(d * scale)
					}
				})
				return ops.Dense(shape, out), nil
			}}, inputs[0], inputs[1], gradOut)
		return G.Nodes{gz, nil}, err
	}
	return ops.NewNode(g, "loss", ops.Spec{Name: "CrossEntropy", Shape: []int{}, DType: graph.Float32, Fwd: fwd, Grad: grad, WRT: []bool{true, false}}, logits, labels)
}

// lossRows calls f(i) for the n rows of c classes, a range of rows a core
// where they are many values (ImageNet's 1000 classes at batch 16: 16000
// exponentials a pass, 0.2-0.4 ms on one core); each row's numbers are
// its own, so the split changes none.
func lossRows(n, c int, f func(i int)) {
	chunks := 1
	if procs := runtime.GOMAXPROCS(0); procs > 1 && n > 1 && n*c >= 1<<13 {
		chunks = min(procs, n)
	}
	gemm.Ranges(n, chunks, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			f(i)
		}
	})
}

func logSumExp(row []float32) float64 {
	m := float64(row[0])
	for _, v := range row {
		m = math.Max(m, float64(v))
	}
	s := 0.0
	for _, v := range row {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s)
}

// mseNode adds the mean squared error of out against targets of the same
// shape.
func mseNode(g *G.ExprGraph, out, target *G.Node) (*G.Node, error) {
	shape := ops.ShapeOf(out)
	if fmt.Sprint(shape) != fmt.Sprint(ops.ShapeOf(target)) {
		return nil, fmt.Errorf("mse: the model's first output has shape %v, the targets %v", shape, ops.ShapeOf(target))
	}
	fwd := func(in []*tensor.Dense) (*tensor.Dense, error) {
		a, err := ops.Data[float32](in[0])
		if err != nil {
			return nil, err
		}
		b, err := ops.Data[float32](in[1])
		if err != nil {
			return nil, err
		}
		s := 0.0
		for i := range a {
			d := float64(a[i]) - float64(b[i])
			s += d * d
		}
		return tensor.New(tensor.FromScalar(float32(s / float64(len(a))))), nil
	}
	grad := func(inputs G.Nodes, output, gradOut *G.Node) (G.Nodes, error) {
		gz, err := ops.NewNode(gradOut.Graph(), "loss/grad", ops.Spec{Name: "MSEGrad", Shape: shape, DType: graph.Float32,
			Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
				a, _ := ops.Data[float32](in[0])
				b, _ := ops.Data[float32](in[1])
				gout, _ := ops.Data[float32](in[2])
				k := 2 * float64(gout[0]) / float64(len(a))
				r := make([]float32, len(a))
				for i := range a {
					r[i] = float32(k * (float64(a[i]) - float64(b[i])))
				}
				return ops.Dense(shape, r), nil
			}}, inputs[0], inputs[1], gradOut)
		return G.Nodes{gz, nil}, err
	}
	return ops.NewNode(g, "loss", ops.Spec{Name: "MSE", Shape: []int{}, DType: graph.Float32, Fwd: fwd, Grad: grad, WRT: []bool{true, false}}, out, target)
}

// Argmax returns the index of the largest score of row as torch.argmax
// picks it: a NaN counts as larger than any number (the first NaN wins),
// and of equal largest scores the first. It returns 0 for an empty row.
func Argmax(row []float32) int {
	best := 0
	for j, v := range row {
		if v != v { // NaN
			return j
		}
		if v > row[best] {
			best = j
		}
	}
	return best
}

// ScoreLogits scores class scores z ([n, classes], row-major) against
// labels: the sum over the rows of the cross-entropy logsumexp(z) - z[y]
// (divide by n for PyTorch's mean) and how many rows have their largest
// score at the label (Argmax: a NaN is the largest, the first largest on
// ties).
func ScoreLogits(z []float32, labels []int64) (lossSum float64, correct int, err error) {
	n := len(labels)
	if n == 0 || len(z)%n != 0 {
		return 0, 0, fmt.Errorf("%d scores for %d labels", len(z), n)
	}
	k := len(z) / n
	if err := data.CheckLabels(labels, nil, k); err != nil {
		return 0, 0, err
	}
	for i, y := range labels {
		row := z[i*k : (i+1)*k]
		if int64(Argmax(row)) == y {
			correct++
		}
		lossSum += logSumExp(row) - float64(row[y])
	}
	return lossSum, correct, nil
}
